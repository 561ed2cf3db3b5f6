"""What is in a parsed data set: a per-column profile and a preview, as JSON-ready dicts.

Each column's kind (numeric, boolean, categorical, datetime, or dropped with a reason) comes
from :func:`mlcore.preprocessing.infer_column`, the very function the training transform uses,
so the page that says "this column will be used" and the model that uses it always agree.

Numbers carry what it takes to show them as the file does: ``decimals`` (the decimal places
the column's values use, at most :data:`MAX_DECIMALS`) and, in ``details.role``, whether whole
numbers label rather than measure (a year, a code, an identifier: "2007", never "2,007").
A histogram of whole numbers spanning at most :data:`HISTOGRAM_BINS` values has one bin per
value, named in ``labels``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlcore.preprocessing import infer_column, parse_values

PREVIEW_ROWS = 100
HISTOGRAM_BINS = 20
TOP_VALUES = 8
MAX_DECIMALS = 6


def json_value(value):
    """A cell as JSON: None for missing, int/float/str otherwise (NaN and inf are missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def preview(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> dict:
    """``{"columns": [names], "rows": [[cells], ...]}`` for the first ``rows`` rows."""
    head = frame.head(rows)
    return {
        "columns": [str(c) for c in head.columns],
        "rows": [[json_value(v) for v in row] for row in head.itertuples(index=False)],
    }


def _histogram(values: np.ndarray, distinct: int, *, per_value: bool = False) -> dict | None:
    low, high = float(values.min()), float(values.max())
    if per_value and high - low < HISTOGRAM_BINS and np.all(values == np.round(values)):
        # Whole numbers over a short range (years, counts, ratings): a bar per value.
        edges = np.arange(low, high + 2)
        counts, _ = np.histogram(values, bins=edges)
        return {
            "counts": [int(c) for c in counts],
            "edges": [float(e) for e in edges],
            "labels": [int(v) for v in edges[:-1]],
        }
    bins = max(1, min(HISTOGRAM_BINS, distinct))
    try:
        with np.errstate(all="ignore"):
            counts, edges = np.histogram(values, bins=bins)
    except ValueError:  # a range wider than floats can split (e.g. -1e308 .. 1e308)
        return None
    if not np.all(np.isfinite(edges)):
        return None
    return {"counts": [int(c) for c in counts], "edges": [float(e) for e in edges]}


def _numeric_stats(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {}
    with np.errstate(all="ignore"):  # sums of huge values overflow to inf: reported as null
        stats = {
            "min": json_value(values.min()),
            "max": json_value(values.max()),
            "mean": json_value(values.mean()),
            "std": json_value(values.std()),
        }
    stats["histogram"] = _histogram(values, len(np.unique(values)), per_value=True)
    stats["decimals"] = decimals(values)
    return stats


def decimals(values: np.ndarray) -> int:
    """The decimal places ``values`` are written with (``2.95`` → 2), at most MAX_DECIMALS."""
    values = values[np.isfinite(values)]
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 * 10 is inf: not that place
        for places in range(MAX_DECIMALS):
            scaled = values * 10.0**places
            error = np.abs(scaled - np.round(scaled))
            if np.all(error <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
                return places
    return MAX_DECIMALS


def _datetime_stats(series: pd.Series, fmt: str | None) -> dict:
    # mlcore's own parser, so quarters, weeks and month names read here as in training.
    parsed, _ = parse_values("datetime", series, fmt)
    parsed = pd.Series(parsed[~np.isnat(parsed)])
    if parsed.empty:
        return {}
    as_ns = parsed.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    histogram = _histogram(as_ns, int(parsed.nunique()))
    histogram["edges"] = [_iso(pd.Timestamp(int(e), tz="UTC")) for e in histogram["edges"]]
    first, last = pd.Timestamp(parsed.min(), tz="UTC"), pd.Timestamp(parsed.max(), tz="UTC")
    return {"min": _iso(first), "max": _iso(last), "histogram": histogram}


def _iso(moment: pd.Timestamp) -> str:
    """``2023-01-13T00:00:00Z``: UTC to the second."""
    return moment.floor("s").strftime("%Y-%m-%dT%H:%M:%SZ")


def _top_values(series: pd.Series) -> dict:
    counts = series.dropna().astype(str).value_counts()
    top = [{"value": str(v), "count": int(c)} for v, c in counts.head(TOP_VALUES).items()]
    return {"top": top, "other_count": int(counts.iloc[TOP_VALUES:].sum())}


def profile_column(series: pd.Series) -> dict:
    """Kind, use, counts and statistics of one column (see the module docstring)."""
    kind = infer_column(series)
    column = {
        "name": str(series.name),
        "kind": kind.kind,
        "used": kind.kept,
        "reason": kind.reason,
        "dtype": kind.dtype,
        "missing": kind.n_missing,
        "distinct": kind.n_unique,
        "details": {k: json_value(v) for k, v in kind.details.items()},
    }
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if kind.kind == "numeric" or (numeric and kind.n_unique > 1):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        column.update(_numeric_stats(values))
    elif kind.kind == "datetime":
        column.update(_datetime_stats(series, kind.details.get("format")))
    elif kind.n_unique > 0:
        column.update(_top_values(series))
    return column


def profile_frame(frame: pd.DataFrame) -> dict:
    """``{"columns": [...], "notes": [...]}``: every column's profile and what they add up to."""
    columns = [profile_column(frame[name]) for name in frame.columns]
    used = [c for c in columns if c["used"]]
    notes = []
    if not used:
        notes.append(
            "No column can be used to train a model: every column is empty, constant or an "
            "identifier (see the reasons below)."
        )
    elif len(used) == 1:
        notes.append(
            "Only one usable column: enough for clustering (KMeans on one feature), but "
            "a decision tree or forest needs a target column and at least one other feature."
        )
    dropped = len(columns) - len(used)
    if dropped and used:
        notes.append(
            f"{dropped} of {len(columns)} columns will not be used; the reasons are below."
        )
    return {"columns": columns, "notes": notes}
