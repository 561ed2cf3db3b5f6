"""Pydantic schemas of the data set API (they validate requests and describe the OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from webapp.api.schemas import ApiModel, Page
from webapp.services.datasets import NAME_MAX

Delimiter = Literal[",", ";", "\t", "|", "whitespace"]
Decimal = Literal[".", ","]
QUOTES = ('"', "'")


def _one_of(*allowed: str):
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError("Choose " + " or ".join(repr(a) for a in allowed) + ".")
        return value

    return AfterValidator(check)


# The quote characters are a pattern in the document, not an enum: client generators make
# a name for every enum value, and a name cannot be made of a quote character.
Quote = Annotated[
    str,
    _one_of(*QUOTES),
    WithJsonSchema({"type": "string", "pattern": "^[\"']$", "examples": ['"']}),
]
QuoteOrAuto = Annotated[
    str,
    _one_of(*QUOTES, "auto"),
    WithJsonSchema({"type": "string", "pattern": "^([\"']|auto)$", "examples": ["auto"]}),
]
MAX_SKIP = 10_000
_DELIMITER_HELP = "'whitespace' splits on runs of spaces and tabs (pandas' sep=r'\\s+')."
_SKIP_FIRST_HELP = "Lines at the top that are not part of the table (titles, notes)."
_SKIP_LAST_HELP = "Lines at the end that are not rows (footers such as 'Source: ...')."


class ParseOptionsPublic(BaseModel):
    """How the file is read, as pandas' ``read_csv`` does: ``skip_first`` lines are dropped,
    then ``header_row`` is the 0-based line of the column names counted from there (``null``:
    no header), and ``skip_last`` lines are dropped at the end."""

    encoding: str = Field(examples=["utf-8"])
    delimiter: Delimiter = Field(description=_DELIMITER_HELP)
    decimal: Decimal
    header_row: int | None
    quotechar: Quote = Field(default='"', description="The character that quotes values.")
    skip_first: int = Field(default=0, ge=0, description=_SKIP_FIRST_HELP)
    skip_last: int = Field(default=0, ge=0, description=_SKIP_LAST_HELP)


class Histogram(BaseModel):
    """``counts[i]`` values fall between ``edges[i]`` and ``edges[i + 1]`` (dates as ISO 8601).
    Whole numbers over a short range (years, ratings) get a bar per value, named in
    ``labels``."""

    counts: list[int]
    edges: list[float] | list[str]
    labels: list[int] | None = None


class TopValue(BaseModel):
    value: str
    count: int


class ColumnProfile(BaseModel):
    """One column: its kind as training will see it, whether it is used and why not."""

    name: str
    kind: Literal["numeric", "boolean", "categorical", "datetime", "dropped"]
    used: bool = Field(description="Whether training can use the column (kind is not dropped).")
    reason: str = Field(description="Why the column got its kind, e.g. why it is dropped.")
    dtype: str
    missing: int
    distinct: int
    details: dict = Field(
        default_factory=dict,
        description="Kind-specific facts: `format` of dates, `true`/`false` labels of yes/no "
        "columns, `unparsable` values read as missing, and `role` of whole numbers that label "
        "rather than measure (`year`, `code`, `identifier`: shown without digit grouping).",
    )
    decimals: int | None = Field(
        default=None, description="Numbers: the decimal places the values are written with."
    )
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    histogram: Histogram | None = None
    top: list[TopValue] | None = None
    other_count: int | None = None


class DatasetSummary(BaseModel):
    """A data set in a list (without its column profile)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    filename: str
    size_bytes: int
    n_rows: int
    n_columns: int
    created_at: datetime
    updated_at: datetime


class DatasetPublic(DatasetSummary):
    """A data set with the options it was parsed with and its column profile."""

    parse_options: ParseOptionsPublic
    detected_options: ParseOptionsPublic = Field(
        description="What detection chose; differs from parse_options where overridden."
    )
    columns: list[ColumnProfile]
    warnings: list[str] = Field(
        description="What parsing tolerated or left out, e.g. skipped empty rows, title lines "
        "above the table and footer lines below it."
    )
    notes: list[str] = Field(description="What the columns add up to for training.")

    @classmethod
    def of(cls, dataset) -> DatasetPublic:
        profile = dataset.profile or {}
        return cls.model_validate(
            {
                **DatasetSummary.model_validate(dataset).model_dump(),
                "parse_options": dataset.parse_options,
                "detected_options": dataset.detected_options,
                "columns": profile.get("columns", []),
                "warnings": profile.get("warnings", []),
                "notes": profile.get("notes", []),
            }
        )


class DatasetPage(Page[DatasetSummary]):
    """One page of data sets, newest first."""


class DatasetUpdate(ApiModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)


class DatasetParseRequest(ApiModel):
    """New parse options; a field left out keeps its current value, ``"auto"`` detects it
    again. ``header_row``: 0-based line of the column names counted after the ``skip_first``
    lines, ``null`` for no header."""

    encoding: str | None = Field(default=None, max_length=40, examples=["cp1252"])
    delimiter: Literal[",", ";", "\t", "|", "whitespace", "auto"] | None = Field(
        default=None, description=_DELIMITER_HELP
    )
    decimal: Literal[".", ",", "auto"] | None = None
    quotechar: QuoteOrAuto | None = Field(
        default=None, description="The character that quotes values (`\"` or `'`), or 'auto'."
    )
    header_row: int | Literal["auto"] | None = Field(
        default=None, description="0 to 200, null (no header) or 'auto'."
    )
    skip_first: int | Literal["auto"] | None = Field(
        default=None, description=f"{_SKIP_FIRST_HELP} 0 to {MAX_SKIP:,} or 'auto'."
    )
    skip_last: int | Literal["auto"] | None = Field(
        default=None, description=f"{_SKIP_LAST_HELP} 0 to {MAX_SKIP:,} or 'auto'."
    )

    @field_validator("header_row", mode="before")
    @classmethod
    def _header_row(cls, value):
        # One check with one error location, rather than one per member of the union.
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if value is None or value == "auto":
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 200:
            return value
        raise ValueError("must be a line number from 0 to 200, null for no header, or 'auto'")

    @field_validator("skip_first", "skip_last", mode="before")
    @classmethod
    def _skip(cls, value):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if value is None or value == "auto":
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SKIP:
            return value
        raise ValueError(f"must be a number of lines from 0 to {MAX_SKIP:,}, or 'auto'")

    def overrides(self) -> dict:
        """The options to change: every field that was sent (``null`` header_row included)."""
        sent = self.model_fields_set
        keys = ("encoding", "delimiter", "decimal", "quotechar", "skip_first", "skip_last")
        out = {k: getattr(self, k) for k in keys if k in sent}
        out = {k: v for k, v in out.items() if v is not None}
        if "header_row" in sent:
            out["header_row"] = self.header_row
        return out


class PreviewQuery(ApiModel):
    limit: int = Field(default=20, ge=1, le=100, description="How many rows (at most 100).")


class DatasetPreview(BaseModel):
    """The first rows: ``rows[i][j]`` is the value of ``columns[j]`` (``null`` when missing)."""

    columns: list[str]
    rows: list[list[float | int | str | bool | None]]
    limit: int
    n_rows: int = Field(description="Rows in the whole data set.")
