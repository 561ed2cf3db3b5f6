"""Per-column type inference and value parsing for :mod:`mlcore.preprocessing`.

A column of a CSV file arrives as text (or as numbers when pandas recognised them). This
module decides what each column *is* (numeric, boolean, categorical, datetime, or to be
dropped and why) and parses raw values into one canonical form per kind:

- numeric: float64 with NaN for missing,
- boolean: float64 0.0/1.0 with NaN for missing,
- categorical: object array of ``str`` with ``None`` for missing,
- datetime: ``datetime64`` (timezone-naive, UTC wall time) with NaT for missing.

Every parser also returns a mask of values that were present but could not be parsed,
so a caller can treat them as missing (whole data sets) or as row errors (form input).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KINDS = ("numeric", "boolean", "categorical", "datetime", "dropped")

# Tokens that mean "no value"; the same list pandas.read_csv uses by default, so data read
# from a CSV file and values typed into a form agree on what is missing.
NA_TOKENS = frozenset(
    {"", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan"}
    | {"<na>", "n/a", "na", "null", "nan", "none", "-nan"}
)
TRUE_TOKENS = frozenset({"true", "yes", "y", "t", "1", "1.0", "on"})
FALSE_TOKENS = frozenset({"false", "no", "n", "f", "0", "0.0", "off"})

# Tried in order; the first that parses (nearly) every value wins. Day-first before
# month-first: for dates both could read (all days <= 12) this is the European reading.
DATE_FORMATS = (
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%d %b %Y",
    "%b %d %Y",
)

# A text column counts as numbers / dates when this share of its present values parses;
# the rest are read as missing (and reported in the reason).
PARSE_FRACTION = 0.95
# Below this many rows "unique per row" says nothing: tiny tables are unique by chance.
MIN_ROWS_FOR_IDENTIFIER = 10

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID_NAME = re.compile(r"(^|[\s_\-.])(id|uuid|guid|key|index)$|^unnamed: \d+$", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnKind:
    """What :func:`infer_column` decided about one column.

    Attributes
    ----------
    name : str
        Column name.
    kind : {"numeric", "boolean", "categorical", "datetime", "dropped"}
        How the column is used; "dropped" columns are not features.
    reason : str
        A short human-readable explanation of the decision.
    dtype : str
        The pandas dtype the column arrived with.
    n_missing : int
        Number of missing values (before parsing).
    n_unique : int
        Number of distinct present values.
    details : dict
        Kind-specific facts: ``format`` for dates, ``true``/``false`` labels for
        booleans, ``unparsable`` count for numbers and dates read from text.
    """

    name: str
    kind: str
    reason: str
    dtype: str
    n_missing: int
    n_unique: int
    details: dict = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        """Whether the column becomes features (``kind != "dropped"``)."""
        return self.kind != "dropped"

    def to_dict(self) -> dict:
        """Return a JSON-friendly dict of all fields."""
        return {
            "name": self.name,
            "kind": self.kind,
            "reason": self.reason,
            "dtype": self.dtype,
            "n_missing": self.n_missing,
            "n_unique": self.n_unique,
            "details": dict(self.details),
        }


def normalize_values(values) -> pd.Series:
    """Return an object Series: strings stripped, every kind of missing as ``None``.

    Non-string values (numbers, bools, timestamps) are kept as they are so the parsers
    can read them without a round trip through text.
    """
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    out = series.astype(object).to_numpy(copy=True)
    for i, value in enumerate(out):
        if isinstance(value, str):
            value = value.strip()
            out[i] = None if value.lower() in NA_TOKENS else value
        elif value is None or value is pd.NaT or value is pd.NA:
            out[i] = None
        elif isinstance(value, float) and math.isnan(value):
            out[i] = None
    return pd.Series(out, index=series.index, dtype=object)


def parse_numeric(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse normalized values as finite floats; return ``(floats, unparsable_mask)``."""
    present = values.notna().to_numpy()
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = present & ~np.isfinite(numbers)
    numbers[bad] = np.nan
    return numbers, bad


def parse_boolean(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse normalized values as 1.0/0.0 (yes/no, true/false, 1/0, ...)."""
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values.to_numpy()):
        if value is None:
            continue
        token = str(value).strip().lower()
        if token in TRUE_TOKENS:
            out[i] = 1.0
        elif token in FALSE_TOKENS:
            out[i] = 0.0
        else:
            bad[i] = True
    return out, bad


def parse_categorical(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return categories as ``str`` (``None`` for missing); nothing is unparsable."""
    out = np.array([None if v is None else str(v) for v in values.to_numpy()], dtype=object)
    return out, np.zeros(len(out), dtype=bool)


def parse_datetime(values: pd.Series, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse with ``fmt`` first, then ISO 8601 (what HTML date inputs send)."""
    present = values.notna().to_numpy()
    parsed = _to_datetime(values, fmt)
    if fmt not in ("ISO8601", "native"):
        retry = parsed.isna().to_numpy() & present
        if retry.any():
            parsed[retry] = _to_datetime(values[retry], "ISO8601")
    out = parsed.to_numpy(dtype="datetime64[us]")
    return out, present & np.isnat(out)


def _to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    if fmt == "native" or pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, errors="coerce", utc=True)
    else:
        text = values.map(lambda v: v if v is None else str(v))
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    # Wall time in UTC without a zone: datetime64 arrays cannot hold zones, and one data
    # set mixing offsets still gets one consistent timeline.
    return parsed.dt.tz_convert(None).astype("datetime64[us]")


def parse_values(kind: str, values, fmt: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch to the parser of ``kind`` on ``normalize_values(values)``."""
    if kind == "datetime" and isinstance(values, pd.Series):
        if pd.api.types.is_datetime64_any_dtype(values):
            parsed = _to_datetime(values, "native").to_numpy(dtype="datetime64[us]")
            return parsed, np.zeros(len(parsed), dtype=bool)
    normalized = normalize_values(values)
    if kind == "numeric":
        return parse_numeric(normalized)
    if kind == "boolean":
        return parse_boolean(normalized)
    if kind == "categorical":
        return parse_categorical(normalized)
    if kind == "datetime":
        return parse_datetime(normalized, fmt or "ISO8601")
    raise ValueError(f"Unknown column kind {kind!r}.")


def infer_column(series: pd.Series, name: str | None = None) -> ColumnKind:
    """Decide how a column is used as a feature, with a human-readable reason.

    Rules, in order: all missing or a single distinct value → dropped; pandas bool or two
    values read as yes/no, true/false, y/n, 1/0, on/off → boolean; numbers (or text of
    which >= 95 % parses as numbers) → numeric, except unique integers named like an id
    or counting 1, 2, 3, ... → dropped; datetime dtype or text of which >= 95 % parses as
    dates (ISO 8601, d/m/Y, m/d/Y, ...) → datetime; text that is e-mail addresses, unique
    per row or nearly so (ids, names) or free text → dropped; other text → categorical.

    Parameters
    ----------
    series : pandas.Series
        The column.
    name : str, optional
        Column name; defaults to ``series.name``.

    Returns
    -------
    ColumnKind
    """
    name = str(series.name if name is None else name)
    dtype = str(series.dtype)
    values = normalize_values(series)
    present = values.dropna()
    n_missing = len(values) - len(present)

    def decide(kind, reason, n_unique, **details):
        return ColumnKind(name, kind, reason, dtype, n_missing, n_unique, details)

    if len(present) == 0:
        return decide("dropped", "all values are missing", 0)
    if pd.api.types.is_datetime64_any_dtype(series):
        n_unique = int(series.nunique())
        if n_unique == 1:
            return decide("dropped", "constant: a single distinct date", 1)
        return decide("datetime", "datetime dtype", n_unique, format="native")

    text = present.map(str)
    n_unique = int(text.nunique())
    if n_unique == 1:
        return decide("dropped", f"constant: every value is {text.iloc[0]!r}", 1)

    lowered = set(text.str.lower().unique())
    if n_unique == 2 or pd.api.types.is_bool_dtype(series):
        if lowered <= TRUE_TOKENS | FALSE_TOKENS and lowered & TRUE_TOKENS and lowered & FALSE_TOKENS:
            false_label = next(t for t in sorted(set(text)) if t.lower() in FALSE_TOKENS)
            true_label = next(t for t in sorted(set(text)) if t.lower() in TRUE_TOKENS)
            return decide(
                "boolean",
                f"two values read as {false_label}/{true_label}",
                n_unique,
                false=false_label,
                true=true_label,
            )

    numbers, bad = parse_numeric(present)
    n_bad = int(bad.sum())
    if n_bad <= (1 - PARSE_FRACTION) * len(present):
        numbers = numbers[~bad]
        is_integer = bool(np.all(numbers == np.round(numbers)))
        if is_integer and len(present) >= MIN_ROWS_FOR_IDENTIFIER and n_unique == len(present):
            steps = np.diff(np.sort(numbers))
            if _ID_NAME.search(name) or bool(np.all(steps == 1)):
                return decide("dropped", "identifier-like: a unique integer per row", n_unique)
        if pd.api.types.is_numeric_dtype(series):
            return decide("numeric", "numeric dtype", n_unique)
        reason = "text parsed as numbers"
        if n_bad:
            reason += f" ({n_bad} unparsable value(s) read as missing)"
        return decide("numeric", reason, n_unique, unparsable=n_bad)

    date_format, n_bad = _detect_date_format(present)
    if date_format is not None:
        reason = f"dates in format {date_format}"
        if n_bad:
            reason += f" ({n_bad} unparsable value(s) read as missing)"
        return decide("datetime", reason, n_unique, format=date_format, unparsable=n_bad)

    n_present = len(present)
    if text.map(lambda v: bool(_EMAIL.match(v))).mean() >= 0.9:
        return decide("dropped", "identifier-like: e-mail addresses", n_unique)
    lengths = text.str.len()
    wordy = text.str.contains(" ").mean() >= 0.5 and lengths.median() >= 30
    if wordy and n_unique >= 0.5 * n_present and n_present >= MIN_ROWS_FOR_IDENTIFIER:
        return decide("dropped", "free text: long, mostly distinct sentences", n_unique)
    if n_present >= MIN_ROWS_FOR_IDENTIFIER and n_unique == n_present:
        return decide("dropped", "identifier-like: a unique value per row", n_unique)
    if n_present >= 2 * MIN_ROWS_FOR_IDENTIFIER and n_unique >= 0.9 * n_present:
        return decide(
            "dropped",
            f"identifier-like: {n_unique} distinct values in {n_present} rows",
            n_unique,
        )
    return decide("categorical", f"text with {n_unique} distinct values", n_unique)


def _detect_date_format(present: pd.Series) -> tuple[str | None, int]:
    """Return the first format parsing >= 95 % of the values, and its failure count."""
    # Date strings have digits and at most a few words; this cheap screen keeps the
    # format loop away from ordinary category columns.
    sample = present.iloc[:1000].map(str)
    if sample.str.contains(r"\d").mean() < PARSE_FRACTION:
        return None, 0
    for fmt in DATE_FORMATS:
        parsed = _to_datetime(sample, fmt)
        if parsed.isna().sum() <= (1 - PARSE_FRACTION) * len(sample):
            n_bad = int(np.isnat(parse_datetime(present, fmt)[0]).sum())
            if n_bad <= (1 - PARSE_FRACTION) * len(present):
                return fmt, n_bad
    return None, 0
