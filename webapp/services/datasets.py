"""Data sets: upload (parse, profile, store), list, rename, re-parse, delete, and
:func:`load_dataframe`, what training runs call to get the table.

A data set is stored whole or not at all: the file is parsed and profiled before anything is
written, and its row and its bytes are committed together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.cache import Cache, frame_from_bytes, frame_to_bytes
from webapp.errors import NotFound, ValidationFailed, field_error
from webapp.lazy import lazy_import
from webapp.models import Dataset, DatasetFile, User
from webapp.services import csv_parsing, quotas

if TYPE_CHECKING:
    import pandas as pd

profiling = lazy_import("webapp.services.profiling")  # pandas and mlcore (webapp.lazy)

NAME_MAX = 120
FILENAME_MAX = 255
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "data"
# The sample files offered on the empty list page: key -> (file, description).
SAMPLES = {
    "sample_data": ("sample_data.csv", "Customers by age, income and spending score (clustering)"),
    "sample_classification": (
        "sample_classification.csv",
        "Customers and the plan they chose (classification)",
    ),
}


@dataclass(frozen=True)
class DatasetLimits:
    """How large a data set may be; routes build it from the app config."""

    max_rows: int = 1_000_000
    max_columns: int = 500

    @classmethod
    def from_config(cls, config) -> DatasetLimits:
        return cls(
            max_rows=int(config.get("MAX_DATASET_ROWS", cls.max_rows)),
            max_columns=int(config.get("MAX_DATASET_COLUMNS", cls.max_columns)),
        )


# -- lookups ---------------------------------------------------------------------------------

# What a data set's page needs beyond its row (look it up with ``get_owned(..., load=DETAILS)``).
DETAILS = (Dataset.profile, Dataset.preview)


def list_datasets(
    *, session: Session, user: User, limit: int | None = None, offset: int = 0
) -> list[Dataset]:
    """The user's data sets, newest first, without profiles or bytes."""
    query = (
        select(Dataset)
        .where(Dataset.owner_id == user.id)
        .order_by(Dataset.created_at.desc(), Dataset.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_datasets(*, session: Session, user: User) -> int:
    return session.scalar(select(func.count(Dataset.id)).where(Dataset.owner_id == user.id)) or 0


# -- writes ----------------------------------------------------------------------------------


def clean_name(name: str | None, *, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            "The name cannot be empty.", details=[field_error(field, "Enter a name.")]
        )
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            f"The name is longer than {NAME_MAX} characters.",
            details=[field_error(field, f"At most {NAME_MAX} characters.")],
        )
    return name


def _default_name(filename: str) -> str:
    stem = PurePath(filename.replace("\\", "/")).stem.strip() or "Data set"
    return stem[:NAME_MAX]


def _describe(dataset: Dataset, table: csv_parsing.ParsedTable) -> None:
    """Set everything a parse determines on ``dataset``."""
    profile = profiling.profile_frame(table.frame)
    profile["warnings"] = list(table.warnings)
    dataset.n_rows, dataset.n_columns = table.frame.shape
    dataset.parse_options = table.options.to_dict()
    dataset.detected_options = table.detected.to_dict()
    dataset.profile = profile
    dataset.preview = profiling.preview(table.frame)


def create_dataset(
    *,
    session: Session,
    user: User,
    filename: str,
    content: bytes,
    name: str | None = None,
    options: dict | None = None,
    limits: DatasetLimits | None = None,
) -> Dataset:
    """Parse and profile ``content`` (raising a 4xx for a bad file), then store it.

    ``options`` may fix any parse option (``encoding``, ``delimiter``, ``decimal``,
    ``quotechar``, ``skip_first``, ``header_row``, ``skip_last``); the rest is detected.
    Nothing is written unless everything succeeds.
    """
    quotas.check_new_dataset(session=session, user=user, size_bytes=len(content))
    filename = (PurePath(filename.replace("\\", "/")).name or "upload.csv")[:FILENAME_MAX]
    name = clean_name(name) if name and name.strip() else _default_name(filename)
    limits = limits or DatasetLimits()
    table = csv_parsing.parse_csv(
        content, options, max_rows=limits.max_rows, max_columns=limits.max_columns
    )
    dataset = Dataset(
        owner_id=user.id,
        name=name,
        filename=filename,
        size_bytes=len(content),
        content_hash=hashlib.sha256(content).hexdigest(),
    )
    _describe(dataset, table)
    dataset.file = DatasetFile(content=content)
    session.add(dataset)
    session.commit()
    _cache_put(dataset, table.frame)
    return dataset


def create_sample_dataset(
    *, session: Session, user: User, sample: str, limits: DatasetLimits | None = None
) -> Dataset:
    """Copy one of :data:`SAMPLES` into the user's data sets."""
    if sample not in SAMPLES:
        raise NotFound("There is no such sample data set.")
    filename, _ = SAMPLES[sample]
    path = SAMPLES_DIR / filename
    if not path.is_file():
        raise NotFound(f"The sample file {filename} is not installed on this server.")
    return create_dataset(
        session=session, user=user, filename=filename, content=path.read_bytes(), limits=limits
    )


def available_samples() -> dict[str, str]:
    """The samples whose files exist, as ``{key: description}``."""
    return {key: desc for key, (file, desc) in SAMPLES.items() if (SAMPLES_DIR / file).is_file()}


def rename_dataset(*, session: Session, dataset: Dataset, name: str) -> Dataset:
    dataset.name = clean_name(name)
    session.commit()
    return dataset


def reparse_dataset(
    *,
    session: Session,
    dataset: Dataset,
    overrides: dict,
    limits: DatasetLimits | None = None,
) -> Dataset:
    """Parse the stored bytes again with ``overrides`` (keys absent keep the current option;
    ``"auto"`` asks detection again). A file the new options cannot read is a 4xx and the
    data set stays as it was."""
    options = {**dataset.parse_options, **overrides}
    limits = limits or DatasetLimits()
    table = csv_parsing.parse_csv(
        dataset.file.content, options, max_rows=limits.max_rows, max_columns=limits.max_columns
    )
    _describe(dataset, table)
    session.commit()
    _cache_put(dataset, table.frame)
    return dataset


def delete_dataset(*, session: Session, dataset: Dataset) -> None:
    """Delete the data set and its file (the foreign key cascades to the bytes)."""
    dataset_id = dataset.id
    session.delete(dataset)
    session.commit()
    _cache_drop(dataset_id)


# -- the table, for training -----------------------------------------------------------------

# Parsed tables: a few per process, and in Redis for the other processes (a worker trains on
# what the web server parsed at upload). Keys name the bytes and the options of the parse.
_CACHE_SIZE = 4
_cache = Cache(
    "frames", maxsize=_CACHE_SIZE, shared=True, dumps=frame_to_bytes, loads=frame_from_bytes
)


def _cache_key(dataset: Dataset) -> tuple:
    return (dataset.id, dataset.content_hash, json.dumps(dataset.parse_options, sort_keys=True))


def _cache_put(dataset: Dataset, frame: pd.DataFrame) -> None:
    _cache.put(_cache_key(dataset), frame)


def _cache_drop(dataset_id: int) -> None:
    _cache.drop(dataset_id)


def clear_cache() -> None:
    _cache.clear()


def load_dataframe(*, session: Session, dataset: Dataset) -> pd.DataFrame:
    """The data set as a pandas DataFrame, parsed exactly as its page shows it.

    Columns are named as in the profile; numbers are float64/int64 (thousands separators and
    decimal commas already read), missing values are NaN, everything else (categories, dates,
    booleans) is text that :class:`mlcore.preprocessing.TabularPreprocessor` interprets the
    same way the profile did. Parsed frames are cached (:mod:`webapp.cache`) by data set id,
    content hash and parse options, so a re-parse or another file is never served stale. The
    caller may modify the returned frame: with pandas' copy-on-write that never changes the
    cached one.

    ``session`` loads the stored bytes on a cache miss; ``dataset`` must belong to the caller
    (look it up with :func:`webapp.services.ownership.get_owned`).
    """
    key = _cache_key(dataset)
    frame = _cache.get(key)
    if frame is None:
        content = session.scalar(
            select(DatasetFile.content).where(DatasetFile.dataset_id == dataset.id)
        )
        if content is None:
            raise NotFound("The file of this data set is missing.")
        # Stored data passed the limits when it was parsed; no limits apply here.
        frame = csv_parsing.parse_csv(content, dataset.parse_options).frame
        _cache_put(dataset, frame)
    return frame.copy(deep=False)
