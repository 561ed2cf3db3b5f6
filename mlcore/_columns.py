"""Per-column type inference and value parsing for :mod:`mlcore.preprocessing`.

A column of a CSV file arrives as text (or as numbers when pandas recognised them). This
module decides what each column *is* (numeric, boolean, categorical, datetime, or to be
dropped and why) and parses raw values into one canonical form per kind:

- numeric: float64 with NaN for missing,
- boolean: float64 0.0/1.0 with NaN for missing,
- categorical: object array of ``str`` with ``None`` for missing,
- datetime: ``datetime64`` (timezone-naive, UTC wall time) with NaT for missing; periods
  (a month, a quarter, an ISO week) are read as their first day.

Every parser also returns a mask of values that were present but could not be parsed,
so a caller can treat them as missing (whole data sets) or as row errors (form input).

Parsing works on the distinct values (:func:`parse_distinct`): a column repeats its values, and
the preprocessor encodes the distinct values too, then gives each row its value's encoding. The
distinct values are found by pandas for long columns of one type and by a dictionary for a few
values (one prediction row), which keeps 1, 1.0 and True apart as pandas would not. JSON numbers
skip parsing altogether.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

KINDS = ("numeric", "boolean", "categorical", "datetime", "dropped")

# Tokens that mean "no value"; the same list pandas.read_csv uses by default, so data read
# from a CSV file and values typed into a form agree on what is missing.
NA_TOKENS = frozenset(
    {"", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan"}
    | {"<na>", "n/a", "na", "null", "nan", "none", "-nan"}
)
TRUE_TOKENS = frozenset({"true", "yes", "y", "t", "1", "1.0", "on"})
FALSE_TOKENS = frozenset({"false", "no", "n", "f", "0", "0.0", "off"})

# Pseudo-formats for periods pandas has no directive for: quarters (1974Q1, Q1 1974) read
# as the quarter's first day, ISO weeks (2020-W05, 2020W05-3) as the week's Monday (or day).
QUARTER = "%Y-Q%q"
ISO_WEEK = "%G-W%V"

# Tried in order; the first that reads (nearly) every value wins, so a column is dates under
# ONE format, the way a person reads a column. Day-first before month-first: for dates both
# could read (all days <= 12) this is the European reading. Month names are read in any
# spelling (Jan, Jan., January, SEPT): values are rewritten to "Jan" before a %b format.
DATE_FORMATS = (
    "%Y-%m",  # before ISO 8601, which reads it too but would be described as a full date
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d %b %Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b-%d-%Y",
    "%d%b%Y",
    "%Y %b %d",
    "%Y-%b-%d",
    "%b %Y",
    "%b-%Y",
    "%b-%y",
    "%Y-%b",
    "%Y/%m",
    "%m/%Y",
    "%m-%Y",
    "%YM%m",
    QUARTER,
    ISO_WEEK,
)

# A text column counts as numbers / dates when this share of its present values parses;
# the rest are read as missing (and reported in the reason).
PARSE_FRACTION = 0.95
# Below this many rows "unique per row" says nothing: tiny tables are unique by chance.
MIN_ROWS_FOR_IDENTIFIER = 10

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_YEAR_NAME = re.compile(r"(^|[\s_\-.])(year|yr|yyyy|season)s?($|[\s_\-.])", re.IGNORECASE)
_ID_NAME = re.compile(r"(^|[\s_\-.])(id|uuid|guid|key|index)$|^unnamed: \d+$", re.IGNORECASE)
_CODE_NAME = re.compile(r"(^|[\s_\-.])(code|zip|zipcode|postcode|phone|number|no|nr)$", re.I)


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
        booleans, ``unparsable`` count for numbers and dates read from text, ``role``
        for whole numbers that label rather than measure (``"year"``, ``"code"``, or
        ``"identifier"`` for a dropped one; see :func:`number_role`).
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
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
        out = series.astype(object).to_numpy(copy=True)
        out[series.isna().to_numpy()] = None
        return pd.Series(out, index=series.index, dtype=object)
    if isinstance(series.dtype, pd.StringDtype) or _homogeneous(series):
        # CSV columns repeat values: clean each distinct value once.
        return _per_distinct(series, _normalize_array)
    return pd.Series(_normalize_array(series.to_numpy()), index=series.index, dtype=object)


def _normalize_array(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=object, copy=True)
    for i, value in enumerate(out):
        if isinstance(value, str):
            value = value.strip()
            out[i] = None if value.lower() in NA_TOKENS else value
        elif value is None or value is pd.NaT or value is pd.NA or _is_nan(value):
            out[i] = None
        elif isinstance(value, float) and value == 0.0:
            # -0.0 is 0.0: hashing merges the two, so only one spelling may come out.
            out[i] = 0.0
    return out


# Kinds of arrays whose values hash safely: one Python type, so 1, 1.0 and True never merge.
_HASH_SAFE = frozenset({"string", "floating", "integer", "boolean", "empty"})


def _homogeneous(values: pd.Series) -> bool:
    """Whether hashing values is safe: one Python type, so 1, 1.0 and True never merge."""
    return pd.api.types.infer_dtype(values, skipna=True) in _HASH_SAFE


def _per_distinct(values: pd.Series, fn) -> pd.Series:
    """Apply an element-wise ``fn`` (array → array) to the distinct values only."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    # The extra last slot is what a missing value (code -1) maps to.
    mapped = fn(np.append(np.asarray(uniques, dtype=object), None))
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _objects(values) -> np.ndarray:
    """``values`` as a 1-d object array (a list of lists stays a list of objects)."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=object)
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def parse_numeric(values) -> tuple[np.ndarray, np.ndarray]:
    """Parse normalized values as finite floats; return ``(floats, unparsable_mask)``."""
    values = _objects(values)
    present = ~pd.isna(values)
    try:
        numbers = pd.to_numeric(values, errors="coerce")
    except OverflowError:  # an integer beyond float64 (JSON allows 1e400 written out)
        numbers = [_float_or_nan(v) for v in values]
    numbers = np.array(numbers, dtype=np.float64)
    bad = present & ~np.isfinite(numbers)
    numbers[bad] = np.nan
    return numbers, bad


def _float_or_nan(value) -> float:
    try:
        return float(pd.to_numeric(value, errors="coerce"))
    except (OverflowError, TypeError, ValueError):
        return math.nan


def parse_boolean(values) -> tuple[np.ndarray, np.ndarray]:
    """Parse normalized values as 1.0/0.0 (yes/no, true/false, 1/0, ...)."""
    values = _objects(values)
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
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


def parse_categorical(values) -> tuple[np.ndarray, np.ndarray]:
    """Return categories as ``str`` (``None`` for missing); nothing is unparsable."""
    out = np.array([None if v is None else str(v) for v in _objects(values)], dtype=object)
    return out, np.zeros(len(out), dtype=bool)


def parse_datetime(values, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse with ``fmt`` first, then ISO 8601 (what HTML date inputs send)."""
    values = _objects(values)
    present = ~pd.isna(values)
    parsed = _to_datetime(values, fmt)
    if fmt not in ("ISO8601", "native"):
        retry = np.isnat(parsed) & present
        if retry.any():
            parsed[retry] = _to_datetime(values[retry], "ISO8601")
    return parsed, present & np.isnat(parsed)


def _to_datetime(values, fmt: str) -> np.ndarray:
    """``datetime64[us]`` values (NaT where ``fmt`` does not read them)."""
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", utc=True))
    else:
        # Text for a column that was datetime dtype in training is read as ISO 8601.
        fmt = "ISO8601" if fmt in ("ISO8601", "native") else fmt
        text = np.array([v if v is None else str(v) for v in _objects(values)], dtype=object)
        if fmt == "ISO8601" and len(text) <= _SMALL:
            days = _iso_days(text)
            if days is not None:
                return days
        if fmt in (QUARTER, ISO_WEEK) or "%b" in fmt or "%B" in fmt:
            text, fmt = _rewrite_for_format(pd.Series(text, dtype=object), fmt)
            text = text.to_numpy(dtype=object)
        # An array, not a Series: pandas' Series machinery costs more than parsing one date.
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    # Wall time in UTC without a zone: datetime64 arrays cannot hold zones, and one data
    # set mixing offsets still gets one consistent timeline.
    return parsed.tz_convert(None).to_numpy(dtype="datetime64[us]", copy=True)


def _iso_days(text: np.ndarray) -> np.ndarray | None:
    """Plain ``YYYY-MM-DD`` values (what a date input sends) read by NumPy, which agrees with
    pandas on them and costs a microsecond instead of pandas' 150; None for anything else."""
    if not all(v is None or _ISO_DAY.fullmatch(v) for v in text):
        return None
    try:
        return np.array(text, dtype="datetime64[D]").astype("datetime64[us]")
    except ValueError:  # a day that does not exist (2023-02-30): pandas reads it as NaT
        return None


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

_DIRECTIVE_LABELS = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%H": "hh", "%I": "hh"}
_DIRECTIVE_LABELS.update({"%M": "mm", "%S": "ss", "%p": "AM/PM", "%b": "Mon", "%B": "Mon"})
_DIRECTIVE_LABELS.update({"%a": "Day", "%q": "n", "%G": "YYYY", "%V": "ww", "%z": "+hhmm"})
_DIRECTIVE_LABELS.update({"%f": "ffffff", "%j": "DDD", "%%": "%"})


def format_label(fmt: str) -> str:
    """A date format for people: ``%d/%m/%Y`` as ``DD/MM/YYYY``, ``ISO8601`` as
    ``YYYY-MM-DD``, quarters as ``YYYY-Qn``."""
    if fmt in ("ISO8601", "native"):
        return "YYYY-MM-DD"
    return re.sub(r"%.", lambda m: _DIRECTIVE_LABELS.get(m.group(0), m.group(0)), fmt)


_MONTH = re.compile(
    r"(?<![a-z])(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![a-z])",
    re.IGNORECASE,
)
_QUARTER = re.compile(
    r"^\s*(?:(\d{4})\s*[-/ ]?\s*Q([1-4])|Q([1-4])\s*[-/ ]?\s*(\d{4}))\s*$", re.IGNORECASE
)
_ISO_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{2})(?:-?([1-7]))?\s*$", re.IGNORECASE)


def _rewrite_for_format(text: pd.Series, fmt: str) -> tuple[pd.Series, str]:
    """Rewrite values into what pandas reads with ``fmt`` (month names, quarters, weeks)."""
    if fmt == QUARTER:
        parts = text.str.extract(_QUARTER)
        year, quarter = parts[0].fillna(parts[3]), parts[1].fillna(parts[2])
        month = (pd.to_numeric(quarter) * 3 - 2).map(lambda m: f"{m:02.0f}", na_action="ignore")
        return year + "-" + month + "-01", "%Y-%m-%d"
    if fmt == ISO_WEEK:
        parts = text.str.extract(_ISO_WEEK)
        return parts[0] + "-W" + parts[1] + "-" + parts[2].fillna("1"), "%G-W%V-%u"
    fmt = fmt.replace("%B", "%b")
    if "%b" in fmt:
        text = text.str.replace(_MONTH, lambda m: m.group(1)[:3].title(), regex=True)
    return text, fmt


def parse_values(kind: str, values, fmt: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``values`` (a Series or a sequence) as ``kind``: ``(parsed, unparsable_mask)``.

    Values are normalized first (strings stripped, missing tokens as missing). Each distinct
    value is normalized and parsed once (see :func:`parse_distinct`), then the results are
    spread back to the rows."""
    codes, parsed, bad = parse_distinct(kind, values, fmt)
    return (parsed, bad) if codes is None else (parsed[codes], bad[codes])


def parse_distinct(kind: str, values, fmt: str | None = None):
    """``(codes, parsed, unparsable_mask)`` for the distinct values of ``values``, with
    ``parsed[codes]`` the rows' values; ``codes`` is None when ``parsed`` holds one entry
    per row (numbers and datetimes read as they are, or values that are all distinct).

    A CSV column repeats its values, so anything done per distinct value (parsing, and the
    encoding in :mod:`mlcore.preprocessing`) is done a few times instead of once per row; and
    one row (a prediction) costs a few array operations rather than the dozen pandas calls a
    vectorized pass over a one-row Series would (measured: 160 us per column, from 1.5 ms)."""
    if kind not in _PARSERS:
        raise ValueError(f"Unknown column kind {kind!r}.")
    is_series = isinstance(values, pd.Series)
    if kind == "datetime" and is_series and pd.api.types.is_datetime64_any_dtype(values):
        parsed = _to_datetime(values, "native")
        return None, parsed, np.zeros(len(parsed), dtype=bool)
    if kind == "numeric" and is_series and _is_number_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        bad = np.isinf(numbers)
        numbers[bad] = np.nan
        return None, numbers, bad
    objects = _objects(values)
    if kind == "numeric":
        numbers = _numbers_as_given(objects)
        if numbers is not None:
            bad = np.isinf(numbers)
            numbers[bad] = np.nan
            return None, numbers, bad
    codes, distinct = _factorize(objects)
    if len(distinct) == len(codes):
        # Every value is its own, in order (one row, say): the codes would be 0..n-1.
        codes, normalized = None, _normalize_array(distinct)
    else:
        # The extra last slot is what a missing value (code -1) maps to.
        normalized = _normalize_array(np.concatenate((distinct, _MISSING_SLOT)))
    parser = _PARSERS[kind]
    parsed, bad = parser(normalized, fmt or "ISO8601") if kind == "datetime" else parser(normalized)
    return codes, parsed, bad


_PARSERS = {
    "numeric": parse_numeric,
    "boolean": parse_boolean,
    "categorical": parse_categorical,
    "datetime": parse_datetime,
}
_MISSING_SLOT = np.array([None], dtype=object)
# Below this many values a dictionary finds the distinct ones faster than pandas' factorize
# (whose fixed cost is about 20 us, the whole budget of a one-row prediction's column).
_SMALL = 32


def _numbers_as_given(values: np.ndarray) -> np.ndarray | None:
    """Floats for values that are all Python ints, floats or None (JSON numbers), else None."""
    if not set(map(type, values)) <= {int, float, type(None)}:
        return None
    try:
        return np.array(values, dtype=np.float64)
    except OverflowError:  # an integer beyond float64: parsed (as unparsable) the slow way
        return None


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct)`` with ``values == distinct[codes]``; missing values may get -1.

    Values of different types stay apart: Python says ``1 == 1.0 == True``, but a category
    column reads them as "1", "1.0" and "True"."""
    if len(values) > _SMALL and _homogeneous_array(values):
        codes, uniques = pd.factorize(values)
        return codes, np.asarray(uniques, dtype=object)
    index: dict = {}
    distinct: list = []
    codes = np.empty(len(values), dtype=np.intp)
    for i, value in enumerate(values):
        try:
            key = (type(value), value)
            code = index.get(key)
        except TypeError:  # unhashable (a list or dict sent as a value): its own slot
            key = code = None
        if code is None:
            code = len(distinct)
            distinct.append(value)
            if key is not None:
                index[key] = code
        codes[i] = code
    return codes, _as_object_array(distinct)


def _as_object_array(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _homogeneous_array(values: np.ndarray) -> bool:
    return pd.api.types.infer_dtype(values, skipna=True) in _HASH_SAFE


def _is_number_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def infer_column(series: pd.Series, name: str | None = None) -> ColumnKind:
    """Decide how a column is used as a feature, with a human-readable reason.

    Rules, in order: all missing or a single distinct value → dropped; pandas bool or two
    values read as yes/no, true/false, y/n, 1/0, on/off → boolean; numbers (or text of
    which >= 95 % parses as numbers) → numeric, except unique integers named like an id
    or counting 1, 2, 3, ... → dropped (unless named like a year: one row per year);
    datetime dtype or text of which >= 95 % parses as dates under one format (ISO 8601,
    d/m/Y, m/d/Y, month names in any spelling, periods such as ``2011-01``, ``1974Q1`` or
    ``2020-W05``, or a layout pandas guesses from the first values) → datetime; text that
    is e-mail addresses, unique per row or nearly so (ids, names) or free text → dropped;
    other text → categorical. Dates are tried before the identifier rules, so a column of
    dates is never called an identifier.

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
    # Every rule below works on the distinct values and their counts.
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    n_present, n_unique = int(counts.sum()), len(uniques)
    n_missing = len(values) - n_present

    def decide(kind, reason, **details):
        return ColumnKind(name, kind, reason, dtype, n_missing, n_unique, details)

    if n_present == 0:
        return decide("dropped", "all values are missing")
    if n_unique == 1:
        return decide("dropped", f"constant: every value is {str(uniques[0])!r}")
    if pd.api.types.is_datetime64_any_dtype(series):
        return decide("datetime", "datetime dtype", format="native")

    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    text = distinct.map(str)
    lowered = set(text.str.lower())
    yes_no = lowered <= TRUE_TOKENS | FALSE_TOKENS
    if yes_no and lowered & TRUE_TOKENS and lowered & FALSE_TOKENS:
        # Label each side with its most frequent spelling ("yes" over "Yes").
        spellings = sorted(zip(text, counts, strict=True), key=lambda tc: (-tc[1], tc[0]))
        false_label = next(t for t, _ in spellings if t.lower() in FALSE_TOKENS)
        true_label = next(t for t, _ in spellings if t.lower() in TRUE_TOKENS)
        reason = f"two values read as {false_label}/{true_label}"
        return decide("boolean", reason, false=false_label, true=true_label)

    def share(mask) -> float:
        return float(counts[np.asarray(mask, dtype=bool)].sum()) / n_present

    unique_per_row = n_unique == n_present and n_present >= MIN_ROWS_FOR_IDENTIFIER
    numbers, bad = parse_numeric(distinct)
    if share(bad) <= 1 - PARSE_FRACTION:
        n_bad = int(counts[bad].sum())
        numbers = numbers[~bad]
        role = number_role(name, numbers)
        labels = {"role": role} if role else {}
        if unique_per_row and bool(np.all(numbers == np.round(numbers))):
            steps = np.diff(np.sort(numbers))
            # One row per year (1990, 1991, ...) counts up too, but is a time, not an id.
            if role == "year":
                return decide("numeric", "years (one row per year)", unparsable=n_bad, **labels)
            if _ID_NAME.search(name) or bool(np.all(steps == 1)):
                return decide(
                    "dropped", "identifier-like: a unique integer per row", role="identifier"
                )
        if _is_number_dtype(series):
            return decide("numeric", "numeric dtype", **labels)
        reason = "text parsed as numbers"
        if n_bad:
            reason += f" ({n_bad} unparsable value(s) read as missing)"
        return decide("numeric", reason, unparsable=n_bad, **labels)

    date_format = _detect_date_format(text)
    if date_format is not None:
        n_bad = int(counts[parse_datetime(distinct, date_format)[1]].sum())
        if n_bad <= (1 - PARSE_FRACTION) * n_present:
            reason = f"dates in format {format_label(date_format)}"
            if n_bad:
                reason += f" ({n_bad} unparsable value(s) read as missing)"
            return decide("datetime", reason, format=date_format, unparsable=n_bad)

    if share(text.map(lambda v: bool(_EMAIL.match(v)))) >= 0.9:
        return decide("dropped", "identifier-like: e-mail addresses")
    mean_length = float((text.str.len().to_numpy() * counts).sum()) / n_present
    wordy = share(text.str.contains(" ")) >= 0.5 and mean_length >= 30
    if wordy and n_unique >= 0.5 * n_present and n_present >= MIN_ROWS_FOR_IDENTIFIER:
        return decide("dropped", "free text: long, mostly distinct sentences")
    if unique_per_row:
        return decide("dropped", "identifier-like: a unique value per row")
    if n_present >= 2 * MIN_ROWS_FOR_IDENTIFIER and n_unique >= 0.9 * n_present:
        reason = f"identifier-like: {n_unique} distinct values in {n_present} rows"
        return decide("dropped", reason)
    return decide("categorical", f"text with {n_unique} distinct values")


def number_role(name: str, values) -> str | None:
    """``"year"`` or ``"code"`` when whole numbers are labels rather than quantities, as the
    column's name says (``year``, ``season``; ``..._id``, ``zip``, ``..._code``, ``..._no``);
    years must lie in 1000..2200. None otherwise. Such numbers are shown without digit
    grouping: "2007", not "2,007"."""
    numbers = np.asarray(values, dtype=np.float64)
    numbers = numbers[np.isfinite(numbers)]
    if len(numbers) == 0 or not bool(np.all(numbers == np.round(numbers))):
        return None
    if _YEAR_NAME.search(name) and 1000 <= numbers.min() <= numbers.max() <= 2200:
        return "year"
    if _ID_NAME.search(name) or _CODE_NAME.search(name):
        return "code"
    return None


def _detect_date_format(text: pd.Series) -> str | None:
    """Return the first format parsing >= 95 % of (a sample of) the distinct values.

    :data:`DATE_FORMATS` first; then the formats pandas guesses from the first values (a
    layout the list lacks, e.g. ``Mon Jan 3 10:00:00 2000``), each tried on the whole sample
    so the column still reads under one format."""
    sample = text.iloc[:1000]
    # Date strings have digits; this cheap screen keeps category columns out of the loop.
    if sample.str.contains(r"\d").mean() < PARSE_FRACTION:
        return None
    for fmt in (*DATE_FORMATS, *_guessed_formats(sample.iloc[:5])):
        if np.isnat(_to_datetime(sample, fmt)).mean() <= 1 - PARSE_FRACTION:
            return fmt
    return None


def _guessed_formats(values: pd.Series) -> list[str]:
    formats = []
    with warnings.catch_warnings():  # pandas warns about day-first guesses it overrides
        warnings.simplefilter("ignore")
        for value in values:
            for dayfirst in (False, True):
                fmt = guess_datetime_format(str(value), dayfirst=dayfirst)
                if fmt and fmt not in formats and fmt not in DATE_FORMATS:
                    formats.append(fmt)
    return formats
