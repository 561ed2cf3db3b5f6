"""Fit and apply the encoding of one column kind (used by ``TabularPreprocessor``).

Each column's fitted encoding is a plain dict (a "spec") of str/float/bool/list values,
so the preprocessor persists as JSON without pickle. ``fit_spec`` learns a spec from
parsed values, ``encode`` turns parsed values into a float64 block of output columns,
``output_names`` names those columns and ``schema_entry`` describes the input for forms.

Conventions, chosen to stay simple and predictable:

- numeric and boolean: missing values take the training median (booleans: the most
  frequent value); a ``<name>.missing`` 0/1 column is added only when the training
  column had missing values, since a constant-zero indicator carries no information.
- datetime: year, month, day, weekday (0 = Monday), hour (only when some training value
  has a time of day) and ordinal (days since 1970-01-01); missing dates take the median
  date, plus the same ``.missing`` indicator rule.
- categorical: one 0/1 column per kept category (``<name>=<category>``); categories
  rarer than ``min_frequency`` or beyond the ``max_categories`` most frequent share a
  ``<name>=(other)`` column, missing values a ``<name>=(missing)`` column. Both exist only
  when the training data needed them; unseen categories at prediction time go to
  ``(other)``, or to all zeros when there is no such column, never to an error.
- scaling (optional): numeric and datetime output columns are standardized with the
  training mean and standard deviation; 0/1 columns are left as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OTHER = "(other)"
MISSING = "(missing)"
_EPOCH = np.datetime64("1970-01-01T00:00:00", "us")
_DAY_US = 86_400_000_000


def fit_spec(
    name: str,
    kind: str,
    dtype: str,
    parsed: np.ndarray,
    *,
    fmt: str | None,
    scale: bool,
    max_categories: int,
    min_frequency: int,
    indicator: bool,
) -> dict:
    """Learn the encoding of one column from its parsed training values."""
    spec = {"name": name, "kind": kind, "dtype": dtype}
    if kind == "categorical":
        present = np.array([v for v in parsed if v is not None], dtype=object)
        values, counts = np.unique(present.astype(str), return_counts=True)
        # Most frequent first, ties by name, so the kept set is deterministic.
        order = sorted(range(len(values)), key=lambda i: (-counts[i], values[i]))
        kept = [str(values[i]) for i in order if counts[i] >= min_frequency][:max_categories]
        spec["categories"] = sorted(kept)
        spec["other"] = len(kept) < len(values)
        spec["missing"] = len(present) < len(parsed)
        spec["all_categories"] = sorted(str(v) for v in values)
        return spec
    if kind == "datetime":
        stamps = parsed[~np.isnat(parsed)]
        days = _days(stamps)
        spec["format"] = fmt
        spec["fill"] = float(np.median(days))
        spec["has_time"] = bool(np.any(days != np.floor(days)))
        unit = "s" if spec["has_time"] else "D"
        spec["min"] = str(np.datetime_as_string(stamps.min(), unit=unit))
        spec["max"] = str(np.datetime_as_string(stamps.max(), unit=unit))
    else:
        present = parsed[~np.isnan(parsed)]
        if kind == "boolean":
            spec["fill"] = float(np.mean(present) >= 0.5)
        else:
            spec["fill"] = float(np.median(present))
            spec["min"] = float(present.min())
            spec["max"] = float(present.max())
            spec["integer"] = bool(np.all(present == np.round(present)))
    spec["indicator"] = bool(indicator and _missing_mask(kind, parsed).any())
    spec["mean"], spec["std"] = [], []
    if scale and kind in ("numeric", "datetime"):
        block = encode(spec, parsed)[:, : _n_scaled(spec)]
        std = block.std(axis=0)
        spec["mean"] = [float(v) for v in block.mean(axis=0)]
        # A constant output column would divide by zero; leave it centred, unscaled.
        spec["std"] = [float(v) if v > 0 else 1.0 for v in std]
    return spec


def output_names(spec: dict) -> list[str]:
    """Names of the output columns ``encode`` produces for this spec."""
    name = spec["name"]
    if spec["kind"] == "categorical":
        names = [f"{name}={c}" for c in spec["categories"]]
        if spec["other"]:
            names.append(f"{name}={OTHER}")
        if spec["missing"]:
            names.append(f"{name}={MISSING}")
        return names
    if spec["kind"] == "datetime":
        names = [f"{name}.{part}" for part in _date_parts(spec)]
    else:
        names = [name]
    if spec["indicator"]:
        names.append(f"{name}.missing")
    return names


def encode(spec: dict, parsed: np.ndarray) -> np.ndarray:
    """Encode parsed values into a float64 block of shape (n_rows, n_outputs)."""
    kind = spec["kind"]
    if kind == "categorical":
        return _encode_categorical(spec, parsed)
    missing = _missing_mask(kind, parsed)
    if kind == "datetime":
        stamps = parsed.copy()
        stamps[missing] = _EPOCH + np.timedelta64(round(spec["fill"] * _DAY_US), "us")
        block = _date_block(stamps, _date_parts(spec))
    else:
        block = np.where(missing, spec["fill"], parsed).reshape(-1, 1)
    if spec["mean"]:
        block = (block - spec["mean"]) / spec["std"]  # floats, or lists NumPy broadcasts
    if spec["indicator"]:
        block = np.concatenate((block, missing.astype(np.float64)[:, None]), axis=1)
    return np.ascontiguousarray(block, dtype=np.float64)


def schema_entry(spec: dict) -> dict:
    """Describe the input column for a prediction form (kind, choices or range)."""
    entry = {"name": spec["name"], "kind": spec["kind"], "dtype": spec["dtype"]}
    if spec["kind"] == "categorical":
        entry["categories"] = list(spec["all_categories"])
    elif spec["kind"] == "boolean":
        entry["categories"] = [spec["false"], spec["true"]]
    elif spec["kind"] == "numeric":
        entry.update(min=spec["min"], max=spec["max"], median=spec["fill"])
        entry["integer"] = spec["integer"]
        if spec.get("role"):
            entry["role"] = spec["role"]
    else:
        entry.update(min=spec["min"], max=spec["max"], format=spec["format"])
        entry["has_time"] = spec["has_time"]
    return entry


def _n_scaled(spec: dict) -> int:
    return len(_date_parts(spec)) if spec["kind"] == "datetime" else 1


def _missing_mask(kind: str, parsed: np.ndarray) -> np.ndarray:
    if kind == "datetime":
        return np.isnat(parsed)
    if kind == "categorical":
        return pd.isna(np.asarray(parsed, dtype=object))
    return np.isnan(parsed)


def _date_parts(spec: dict) -> list[str]:
    parts = ["year", "month", "day", "weekday"]
    if spec["has_time"]:
        parts.append("hour")
    return [*parts, "ordinal"]


def _days(stamps: np.ndarray) -> np.ndarray:
    return (stamps - _EPOCH).astype(np.int64) / _DAY_US


def _date_block(stamps: np.ndarray, parts: list[str]) -> np.ndarray:
    days = stamps.astype("datetime64[D]")
    months = stamps.astype("datetime64[M]")
    years = stamps.astype("datetime64[Y]")
    columns = {
        "year": years.astype(np.int64) + 1970,
        "month": (months - years).astype(np.int64) + 1,
        "day": (days - months).astype(np.int64) + 1,
        # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
        "weekday": (days.astype(np.int64) + 3) % 7,
        "ordinal": _days(stamps),
    }
    if "hour" in parts:
        columns["hour"] = (stamps - days).astype("timedelta64[h]").astype(np.int64)
    block = np.empty((len(stamps), len(parts)))
    for i, part in enumerate(parts):
        block[:, i] = columns[part]
    return block


def _encode_categorical(spec: dict, parsed: np.ndarray) -> np.ndarray:
    categories = spec["categories"]
    n_out = len(categories) + spec["other"] + spec["missing"]
    other_col = len(categories) if spec["other"] else -1
    missing_col = n_out - 1 if spec["missing"] else -1
    position = {c: i for i, c in enumerate(categories)}
    # ``parsed`` holds a column's distinct values (``preprocessing._encoded``): one look-up each.
    cols = np.fromiter(
        (missing_col if v is None else position.get(v, other_col) for v in parsed),
        dtype=np.intp,
        count=len(parsed),
    )
    # Unseen values without an (other) column, and missing values without a (missing)
    # column, stay all-zero rows.
    block = np.zeros((len(parsed), n_out))
    rows = (cols >= 0).nonzero()[0]
    block[rows, cols[rows]] = 1.0
    return block
