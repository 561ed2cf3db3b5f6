"""The data set API: multipart upload, list, get, preview, rename, re-parse, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.utils.uploads import multipart
from webapp.db import get_session
from webapp.models import Dataset, DatasetFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample_data.csv"


def post_file(client, headers, filename="cp1252_semicolon.csv", content=None, **form):
    content = (FIXTURES / filename).read_bytes() if content is None else content
    body, content_type = multipart(filename, content, **form)
    return client.post("/api/v1/datasets", headers=headers, data=body, content_type=content_type)


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def stored(app) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (
            session.scalar(select(func.count(Dataset.id))),
            session.scalar(select(func.count()).select_from(DatasetFile)),
        )


@pytest.fixture
def dataset(client, user_headers) -> dict:
    response = post_file(client, user_headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_upload_returns_the_profile(client, user_headers):
    response = post_file(client, user_headers, filename="cp1252_semicolon.csv")
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "cp1252_semicolon"
    assert (body["n_rows"], body["n_columns"]) == (5, 4)
    assert body["parse_options"] == {
        "encoding": "cp1252",
        "delimiter": ";",
        "decimal": ",",
        "header_row": 0,
        "quotechar": '"',
        "skip_first": 0,
        "skip_last": 0,
    }
    price = next(c for c in body["columns"] if c["name"] == "Prix (€)")
    assert price["kind"] == "numeric" and price["used"] is True
    assert price["missing"] == 0 and price["distinct"] == 5
    assert price["min"] == 2.75 and price["max"] == 12345.0
    assert {"id", "created_at", "updated_at", "filename", "size_bytes", "warnings"} <= set(body)


def test_upload_sample_data(client, user_headers):
    response = post_file(
        client, user_headers, filename="sample_data.csv", content=SAMPLE.read_bytes()
    )
    assert response.status_code == 201
    assert response.get_json()["n_rows"] == 300


def test_upload_with_name_and_options(client, user_headers):
    response = post_file(client, user_headers, filename="pipe.csv", header_row="none", name="Pipes")
    body = response.get_json()
    assert response.status_code == 201
    assert body["name"] == "Pipes"
    assert body["parse_options"]["header_row"] is None
    assert body["detected_options"]["header_row"] == 0
    assert body["n_rows"] == 5


def test_upload_with_bad_option_is_422_naming_the_field(client, user_headers, app):
    error = error_of(post_file(client, user_headers, filename="pipe.csv", delimiter="x"), 422)
    assert error["details"][0]["field"] == "delimiter"
    assert stored(app) == (0, 0)


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("empty.csv", 422, "empty"),
        ("header_only.csv", 422, "no data rows"),
        ("image_renamed.csv", 422, "PNG"),
        ("archive_renamed.csv", 422, "ZIP"),
        ("ragged.csv", 422, "more values than the header"),
        ("unclosed_quote.csv", 422, "never closed"),
    ],
)
def test_bad_files_are_4xx_and_store_nothing(client, user_headers, app, name, status, words):
    error = error_of(post_file(client, user_headers, filename=name), status)
    assert words in error["message"]
    assert stored(app) == (0, 0)


def test_a_non_text_file_has_its_own_error_code(client, user_headers):
    error = error_of(post_file(client, user_headers, filename="image_renamed.csv"), 422)
    assert error["code"] == "not_csv"
    assert error["details"][0]["field"] == "file"


def test_single_column_and_all_missing_column_are_accepted(client, user_headers):
    single = post_file(client, user_headers, filename="single_column.csv").get_json()
    assert single["n_columns"] == 1 and "clustering" in single["notes"][0]
    empty_col = post_file(client, user_headers, filename="all_missing_column.csv").get_json()
    column = next(c for c in empty_col["columns"] if c["name"] == "empty")
    assert (column["kind"], column["used"], column["missing"]) == ("dropped", False, 4)


def test_upload_without_file_or_as_json(client, user_headers):
    error = error_of(
        client.post(
            "/api/v1/datasets",
            headers=user_headers,
            data={"name": "x"},
            content_type="multipart/form-data",
        ),
        422,
    )
    assert error["details"][0]["field"] == "file"
    response = client.post("/api/v1/datasets", headers=user_headers, json={"file": "a,b"})
    error_of(response, 415)


def test_upload_needs_a_token(client):
    error_of(post_file(client, {}), 401)


class TestLimits:
    @pytest.fixture
    def app_config(self):
        return {"MAX_DATASET_ROWS": 3, "MAX_DATASET_COLUMNS": 2}

    def test_row_and_column_limits_are_413(self, client, user_headers, app):
        error = error_of(post_file(client, user_headers, content=b"a\n1\n2\n3\n4\n"), 413)
        assert "3 rows" in error["message"]
        error = error_of(post_file(client, user_headers, content=b"a,b,c\n1,2,3\n"), 413)
        assert "3 columns; the limit is 2" in error["message"]
        assert stored(app) == (0, 0)


def test_a_60_mb_upload_is_413(client, user_headers, app):
    big = b"a,b\n" + b"1,2\n" * (15 * 1024 * 1024)  # 60 MB, over the default 50 MB
    error = error_of(post_file(client, user_headers, content=big), 413)
    assert error["code"] == "payload_too_large" and "50 MB" in error["message"]
    assert stored(app) == (0, 0)


def test_list_is_paginated_and_newest_first(client, user_headers, other_headers):
    ids = [post_file(client, user_headers, filename="pipe.csv").get_json()["id"] for _ in range(3)]
    post_file(client, other_headers, filename="pipe.csv")
    page = client.get("/api/v1/datasets?limit=2&offset=1", headers=user_headers).get_json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [item["id"] for item in page["items"]] == [ids[1], ids[0]]
    assert "columns" not in page["items"][0]
    assert client.get("/api/v1/datasets/", headers=user_headers).status_code == 200
    error_of(client.get("/api/v1/datasets?limit=0", headers=user_headers), 422)


def test_get_preview_rename_delete(client, user_headers, dataset, app):
    url = f"/api/v1/datasets/{dataset['id']}"
    assert client.get(url, headers=user_headers).get_json() == dataset
    preview = client.get(url + "/preview?limit=2", headers=user_headers).get_json()
    assert preview["columns"][0] == "Produit"
    assert preview["rows"] == [
        ["Café crème", "Boissons", 1234.5, 12],
        ["Thé vert", "Boissons", 2.75, 30],
    ]
    assert (preview["limit"], preview["n_rows"]) == (2, 5)
    error_of(client.get(url + "/preview?limit=101", headers=user_headers), 422)

    renamed = client.patch(url, headers=user_headers, json={"name": "Prices"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Prices"
    error_of(client.patch(url, headers=user_headers, json={"name": ""}), 422)
    error_of(client.patch(url, headers=user_headers, json={"name": "   "}), 422)
    error_of(client.patch(url, headers=user_headers, json={"name": "x" * 121}), 422)

    assert client.delete(url, headers=user_headers).status_code == 204
    error_of(client.get(url, headers=user_headers), 404)
    assert stored(app) == (0, 0)


def test_reparse_with_overrides(client, user_headers, dataset):
    url = f"/api/v1/datasets/{dataset['id']}/parse"
    body = client.post(url, headers=user_headers, json={"decimal": "."}).get_json()
    assert body["parse_options"]["decimal"] == "."
    assert body["detected_options"]["decimal"] == ","
    assert next(c for c in body["columns"] if c["name"] == "Prix (€)")["kind"] != "numeric"
    body = client.post(url, headers=user_headers, json={"decimal": "auto"}).get_json()
    assert body["parse_options"] == body["detected_options"]
    body = client.post(url, headers=user_headers, json={"header_row": None}).get_json()
    assert body["parse_options"]["header_row"] is None and body["n_rows"] == 6


def test_reparse_that_fails_leaves_the_dataset_unchanged(client, user_headers, dataset):
    url = f"/api/v1/datasets/{dataset['id']}"
    error = error_of(
        client.post(url + "/parse", headers=user_headers, json={"encoding": "utf-8"}), 422
    )
    assert "not valid utf-8" in error["message"]
    assert client.get(url, headers=user_headers).get_json() == dataset


@pytest.mark.parametrize(
    "body",
    [
        {"delimiter": "x"},
        {"decimal": ";"},
        {"header_row": -1},
        {"header_row": "first"},
        {"encoding": "no-such-codec"},
        {"encoding": "x" * 41},
    ],
)
def test_reparse_rejects_bad_options(client, user_headers, dataset, body):
    url = f"/api/v1/datasets/{dataset['id']}/parse"
    error_of(client.post(url, headers=user_headers, json=body), 422)


@pytest.mark.parametrize(
    ("method", "suffix", "kwargs"),
    [
        ("get", "", {}),
        ("patch", "", {"json": {"name": "mine now"}}),
        ("delete", "", {}),
        ("get", "/preview", {}),
        ("post", "/parse", {"json": {"delimiter": ","}}),
    ],
)
def test_another_users_dataset_is_404_for_every_verb(
    client, dataset, other_headers, user_headers, method, suffix, kwargs
):
    url = f"/api/v1/datasets/{dataset['id']}{suffix}"
    error_of(getattr(client, method)(url, headers=other_headers, **kwargs), 404)
    assert (
        client.get(f"/api/v1/datasets/{dataset['id']}", headers=user_headers).get_json() == dataset
    )


def test_huge_ids_are_404(client, user_headers):
    error_of(client.get(f"/api/v1/datasets/{2**64}", headers=user_headers), 404)


def test_openapi_documents_the_dataset_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/datasets"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/datasets/{dataset_id}"])
    assert "post" in paths["/api/v1/datasets/{dataset_id}/parse"]
    assert "get" in paths["/api/v1/datasets/{dataset_id}/preview"]
    upload = paths["/api/v1/datasets"]["post"]["requestBody"]["content"]
    assert "file" in upload["multipart/form-data"]["schema"]["required"]
    assert "413" in paths["/api/v1/datasets"]["post"]["responses"]
    options = spec["components"]["schemas"]["ParseOptionsPublic"]["properties"]
    assert {"quotechar", "skip_first", "skip_last"} <= set(options)
    assert "whitespace" in options["delimiter"]["enum"]
    parse = spec["components"]["schemas"]["DatasetParseRequest"]["properties"]
    assert {"quotechar", "skip_first", "skip_last"} <= set(parse)
    fields = upload["multipart/form-data"]["schema"]["properties"]
    assert {"quotechar", "skip_first", "skip_last"} <= set(fields)


# -- real-world layouts (issue 13, items 1, 2 and 4) ---------------------------------------------


def test_upload_a_whitespace_table_with_title_and_footer(client, user_headers):
    response = post_file(client, user_headers, filename="whitespace_aligned.csv")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    options = body["parse_options"]
    assert options["delimiter"] == "whitespace"
    assert (options["skip_first"], options["header_row"], options["skip_last"]) == (2, 0, 1)
    assert [c["name"] for c in body["columns"]] == ["year", "month", "rain", "temp"]
    assert body["n_rows"] == 24
    assert any("Monthly rainfall" in w for w in body["warnings"])
    assert any("Source: synthetic station records" in w for w in body["warnings"])


def test_upload_that_reads_as_one_column_despite_separators_is_422(client, user_headers, app):
    response = post_file(client, user_headers, filename="whitespace_values_with_blanks.csv")
    error = error_of(response, 422)
    assert "runs of spaces" in error["message"] and "cannot be told apart" in error["message"]
    assert stored(app) == (0, 0)
    response = post_file(client, user_headers, filename="whitespace_single.csv", delimiter=",")
    error = error_of(response, 422)
    assert error["details"][0]["field"] == "delimiter" and "whitespace" in error["message"]


def test_upload_with_whitespace_and_skip_options(client, user_headers):
    response = post_file(
        client, user_headers, filename="footer_lines.csv", skip_first="1", header_row="none",
        skip_last="0",
    )  # fmt: skip
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["parse_options"]["skip_first"] == 1 and body["detected_options"]["skip_last"] == 2
    assert body["n_rows"] == 14  # every line below the header, footers included
    error = error_of(post_file(client, user_headers, skip_last="-1"), 422)
    assert error["details"][0]["field"] == "skip_last"


def test_reparse_with_skip_options_and_back_to_detection(client, user_headers):
    dataset = post_file(client, user_headers, filename="footer_lines.csv").get_json()
    url = f"/api/v1/datasets/{dataset['id']}/parse"
    assert dataset["n_rows"] == 12 and dataset["parse_options"]["skip_last"] == 2
    body = client.post(url, headers=user_headers, json={"skip_last": 0}).get_json()
    assert body["n_rows"] == 14 and not any("Left out" in w for w in body["warnings"])
    region = next(c for c in body["columns"] if c["name"] == "region")
    assert "Exported 2024-05-01" in {t["value"] for t in region["top"]}
    body = client.post(url, headers=user_headers, json={"skip_last": "auto"}).get_json()
    assert body["n_rows"] == 12 and body["parse_options"] == body["detected_options"]


def test_reparse_to_a_delimiter_that_leaves_one_column_is_422_and_changes_nothing(
    client, user_headers
):
    dataset = post_file(client, user_headers, filename="whitespace_mixed_tabs.csv").get_json()
    url = f"/api/v1/datasets/{dataset['id']}"
    response = client.post(url + "/parse", headers=user_headers, json={"delimiter": "|"})
    error = error_of(response, 422)
    assert error["details"][0]["field"] == "delimiter"
    assert "whitespace" in error["message"]
    assert client.get(url, headers=user_headers).get_json() == dataset


@pytest.mark.parametrize(
    "body",
    [{"skip_first": -1}, {"skip_last": 10_001}, {"skip_first": "two"}, {"quotechar": "`"},
     {"delimiter": "spaces"}],
)  # fmt: skip
def test_reparse_rejects_bad_new_options(client, user_headers, dataset, body):
    url = f"/api/v1/datasets/{dataset['id']}/parse"
    error = error_of(client.post(url, headers=user_headers, json=body), 422)
    assert error["details"][0]["field"] == next(iter(body))


def test_upload_names_quoted_with_single_quotes(client, user_headers):
    body = post_file(client, user_headers, filename="single_quoted.csv").get_json()
    assert body["parse_options"]["quotechar"] == "'"
    assert [c["name"] for c in body["columns"]] == ["vote", "age", "income", "party"]


def test_upload_with_a_count_line_above_a_headerless_table(client, user_headers):
    body = post_file(client, user_headers, filename="count_line.csv").get_json()
    assert body["n_rows"] == 30 and body["parse_options"]["skip_first"] == 1
    assert [c["kind"] for c in body["columns"]][:4] == ["numeric"] * 4
    assert any("30,4,setosa" in w for w in body["warnings"])


def test_the_profile_says_how_numbers_are_written(client, user_headers):
    """Issue 10, item 4: years and ids are labels (no digit grouping), decimals per column."""
    response = post_file(client, user_headers, filename="penguins.csv")
    assert response.status_code == 201, response.get_json()
    columns = {c["name"]: c for c in response.get_json()["columns"]}
    year, ident, depth = columns["year"], columns["individual_id"], columns["bill_depth_mm"]
    assert year["details"]["role"] == "year" and year["decimals"] == 0
    assert year["histogram"]["labels"] == [2007, 2008, 2009]
    assert year["histogram"]["counts"] == [40, 40, 40]
    assert ident["used"] is False and ident["details"]["role"] == "identifier"
    assert depth["decimals"] == 1 and "role" not in depth["details"]
    assert "labels" not in depth["histogram"] or depth["histogram"]["labels"] is None
