"""The data set service: stored whole or not at all, owner-scoped, re-parse, load_dataframe."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from tests.utils.auth import create_user
from webapp.db import get_session
from webapp.errors import NotFound, PayloadTooLarge, ValidationFailed
from webapp.models import Dataset, DatasetFile, User
from webapp.services import datasets as service
from webapp.services.ownership import get_owned

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
LIMITS = service.DatasetLimits(max_rows=1000, max_columns=50)


@pytest.fixture
def ctx(app):
    with app.app_context():
        service.clear_cache()
        yield get_session()
        service.clear_cache()


@pytest.fixture
def alice(app, ctx):
    return ctx.get(User, create_user(app, "alice"))


@pytest.fixture
def mallory(app, ctx):
    return ctx.get(User, create_user(app, "mallory"))


def upload(session, user, name="cp1252_semicolon.csv", **kwargs):
    return service.create_dataset(
        session=session,
        user=user,
        filename=name,
        content=(FIXTURES / name).read_bytes(),
        limits=kwargs.pop("limits", LIMITS),
        **kwargs,
    )


def counts(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count(Dataset.id))),
        session.scalar(select(func.count()).select_from(DatasetFile)),
    )


def test_create_stores_row_bytes_options_and_profile(ctx, alice):
    dataset = upload(ctx, alice)
    assert dataset.name == "cp1252_semicolon"
    assert (dataset.n_rows, dataset.n_columns) == (5, 4)
    assert dataset.parse_options == {
        "encoding": "cp1252",
        "delimiter": ";",
        "decimal": ",",
        "header_row": 0,
        "quotechar": '"',
        "skip_first": 0,
        "skip_last": 0,
    }
    assert dataset.detected_options == dataset.parse_options
    assert dataset.file.content == (FIXTURES / "cp1252_semicolon.csv").read_bytes()
    assert dataset.size_bytes == len(dataset.file.content)
    columns = {c["name"]: c for c in dataset.profile["columns"]}
    assert columns["Prix (€)"]["kind"] == "numeric"
    assert columns["Prix (€)"]["max"] == 12345.0
    assert sum(columns["Prix (€)"]["histogram"]["counts"]) == 5
    assert columns["Catégorie"]["top"][0] == {"value": "Boissons", "count": 2}
    assert dataset.preview["rows"][0][0] == "Café crème"
    assert counts(ctx) == (1, 1)


def test_name_defaults_to_file_stem_and_can_be_given(ctx, alice):
    assert upload(ctx, alice, name="pipe.csv").name == "pipe"
    named = service.create_dataset(
        session=ctx, user=alice, filename="C:\\data\\x.csv", content=b"a\n1\n", name="  Mine  "
    )
    assert (named.name, named.filename) == ("Mine", "x.csv")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", ValidationFailed),
        (b"a,b,c\n", ValidationFailed),
        ((FIXTURES / "image_renamed.csv").read_bytes(), ValidationFailed),
        ((FIXTURES / "ragged.csv").read_bytes(), ValidationFailed),
        (b"a\n" + b"1\n" * 1001, PayloadTooLarge),
        (b",".join(b"c%d" % i for i in range(51)) + b"\n" + b"1," * 50 + b"1\n", PayloadTooLarge),
    ],
)
def test_bad_files_store_nothing(ctx, alice, content, error):
    with pytest.raises(error):
        service.create_dataset(
            session=ctx, user=alice, filename="bad.csv", content=content, limits=LIMITS
        )
    assert counts(ctx) == (0, 0)


def test_name_too_long_stores_nothing(ctx, alice):
    with pytest.raises(ValidationFailed):
        service.create_dataset(
            session=ctx, user=alice, filename="a.csv", content=b"a\n1\n", name="x" * 121
        )
    assert counts(ctx) == (0, 0)


def test_list_and_count_are_owner_scoped_newest_first(ctx, alice, mallory):
    first = upload(ctx, alice, name="pipe.csv")
    second = upload(ctx, alice, name="dates.csv")
    upload(ctx, mallory, name="pipe.csv")
    listed = service.list_datasets(session=ctx, user=alice)
    assert [d.id for d in listed] == [second.id, first.id]
    assert service.count_datasets(session=ctx, user=alice) == 2
    assert [d.id for d in service.list_datasets(session=ctx, user=alice, limit=1, offset=1)] == [
        first.id
    ]


def test_rename(ctx, alice):
    dataset = upload(ctx, alice)
    service.rename_dataset(session=ctx, dataset=dataset, name="  Prices ")
    assert dataset.name == "Prices"
    for bad in ("", "   ", "x" * 121):
        with pytest.raises(ValidationFailed):
            service.rename_dataset(session=ctx, dataset=dataset, name=bad)


def test_reparse_with_overrides_and_back_to_detection(ctx, alice):
    dataset = upload(ctx, alice, name="pipe.csv")
    service.reparse_dataset(session=ctx, dataset=dataset, overrides={"header_row": None})
    assert dataset.parse_options["header_row"] is None
    assert dataset.detected_options["header_row"] == 0
    assert dataset.n_rows == 5
    assert service.load_dataframe(session=ctx, dataset=dataset)["column_1"].iloc[0] == "sku"
    service.reparse_dataset(session=ctx, dataset=dataset, overrides={"header_row": "auto"})
    assert dataset.parse_options["header_row"] == 0
    assert list(service.load_dataframe(session=ctx, dataset=dataset).columns)[0] == "sku"


def test_failed_reparse_leaves_the_dataset_unchanged(ctx, alice):
    dataset = upload(ctx, alice)
    before = (dict(dataset.parse_options), dataset.n_rows, dataset.profile)
    with pytest.raises(ValidationFailed):
        service.reparse_dataset(session=ctx, dataset=dataset, overrides={"encoding": "utf-8"})
    ctx.rollback()
    again = get_owned(ctx, Dataset, dataset.id, alice)
    assert (again.parse_options, again.n_rows, again.profile) == before


def test_delete_removes_row_and_bytes(ctx, alice):
    dataset = upload(ctx, alice)
    service.load_dataframe(session=ctx, dataset=dataset)
    service.delete_dataset(session=ctx, dataset=dataset)
    assert counts(ctx) == (0, 0)
    assert not service._cache


def test_deleting_the_user_deletes_their_datasets(ctx, alice):
    upload(ctx, alice)
    ctx.delete(alice)
    ctx.commit()
    assert counts(ctx) == (0, 0)


def test_listing_does_not_load_bytes_or_profiles(ctx, alice):
    upload(ctx, alice)
    ctx.expunge_all()
    (listed,) = service.list_datasets(session=ctx, user=alice)
    state = listed.__dict__
    assert "profile" not in state and "preview" not in state and "file" not in state


def test_load_dataframe_matches_the_profile_and_is_cached(ctx, alice):
    dataset = upload(ctx, alice, name="thousands_eu.csv")
    service.clear_cache()
    frame = service.load_dataframe(session=ctx, dataset=dataset)
    assert list(frame.columns) == [c["name"] for c in dataset.profile["columns"]]
    assert frame["habitants"].tolist() == [1234567, 98765, 12000, 950]
    assert len(service._cache) == 1
    # The caller may change its copy; the cached frame is untouched.
    frame.loc[0, "habitants"] = -1
    frame["new"] = 1
    again = service.load_dataframe(session=ctx, dataset=dataset)
    assert again["habitants"].iloc[0] == 1234567
    assert "new" not in again.columns


def test_load_dataframe_reads_from_the_database_on_a_cache_miss(ctx, alice):
    dataset = upload(ctx, alice, name="dates.csv")
    expected = service.load_dataframe(session=ctx, dataset=dataset)
    service.clear_cache()
    ctx.expunge_all()
    fresh = get_owned(ctx, Dataset, dataset.id, alice)
    pd.testing.assert_frame_equal(service.load_dataframe(session=ctx, dataset=fresh), expected)


def test_cache_key_changes_with_parse_options(ctx, alice):
    dataset = upload(ctx, alice, name="pipe.csv")
    assert service.load_dataframe(session=ctx, dataset=dataset).shape == (4, 3)
    service.reparse_dataset(session=ctx, dataset=dataset, overrides={"header_row": None})
    assert service.load_dataframe(session=ctx, dataset=dataset).shape == (5, 3)


def test_cache_is_bounded(ctx, alice):
    for _ in range(service._CACHE_SIZE + 2):
        upload(ctx, alice, name="pipe.csv")
    assert len(service._cache) == service._CACHE_SIZE


def test_samples(ctx, alice):
    available = service.available_samples()
    for key in available:
        dataset = service.create_sample_dataset(session=ctx, user=alice, sample=key)
        assert dataset.n_rows > 0
    with pytest.raises(NotFound):
        service.create_sample_dataset(session=ctx, user=alice, sample="../etc/passwd")


def test_single_column_dataset_is_stored_with_a_note(ctx, alice):
    dataset = upload(ctx, alice, name="single_column.csv")
    assert dataset.n_columns == 1
    assert "clustering" in dataset.profile["notes"][0]


def test_limits_from_config():
    limits = service.DatasetLimits.from_config({"MAX_DATASET_ROWS": 5, "MAX_DATASET_COLUMNS": 2})
    assert (limits.max_rows, limits.max_columns) == (5, 2)
    assert service.DatasetLimits.from_config({}) == service.DatasetLimits()
