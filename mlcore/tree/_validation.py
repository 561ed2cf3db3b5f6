"""Input and parameter validation shared by the trees and the forests."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..base import check_array

# Integer sample weights up to this total are expanded into repeated rows, which keeps
# the exact (and fast) integer-count path; larger or fractional weights stay weights.
_MAX_REPEATED_ROWS = 50_000_000


def validate_X(X):
    names = None
    columns = getattr(X, "columns", None)
    if columns is not None and all(isinstance(c, str) for c in columns):
        names = np.asarray(list(columns), dtype=str)
    return check_array(X, allow_nan=True), names


def validate_y(y, n_samples: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one target per sample), got shape {y.shape}.")
    if len(y) != n_samples:
        raise ValueError(f"X and y have inconsistent numbers of samples: {n_samples} and {len(y)}.")
    return y


def encode_labels(y: np.ndarray):
    """``classes_`` (numeric or 'U') and integer codes of class labels."""
    if y.dtype.kind == "O":
        y = y.astype(str)
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("y contains NaN; class labels must be known for every sample.")
    classes, encoded = np.unique(y, return_inverse=True)
    return classes, encoded.astype(np.intp)


def encode_regression_target(y: np.ndarray) -> np.ndarray:
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("y must be numeric for a regressor.") from None
    if not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinity.")
    return y


def rows_and_weights(sample_weight, n_samples: int):
    """Training rows (repeated for integer weights) and float weights or None."""
    if sample_weight is None:
        return np.arange(n_samples), None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1 or len(w) != n_samples:
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {w.shape}.")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    if w.sum() <= 0:
        raise ValueError("sample_weight must have a positive sum.")
    if np.array_equal(w, np.round(w)) and w.sum() <= _MAX_REPEATED_ROWS:
        return np.repeat(np.arange(n_samples), w.astype(np.intp)), None
    keep = np.flatnonzero(w > 0)
    return keep, w[keep]


def resolve_max_features(max_features, n_features: int) -> int:
    """Number of features to draw per split."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        if max_features == "sqrt":
            return max(1, int(math.sqrt(n_features)))
        if max_features == "log2":
            return max(1, int(math.log2(n_features)))
        raise ValueError(
            f"max_features must be 'sqrt', 'log2', an int or a float, got {max_features!r}."
        )
    if isinstance(max_features, numbers.Integral) and not isinstance(max_features, bool):
        if not 1 <= max_features <= n_features:
            raise ValueError(
                f"max_features must be in [1, n_features={n_features}], got {max_features}."
            )
        return int(max_features)
    if isinstance(max_features, numbers.Real) and 0.0 < max_features <= 1.0:
        return max(1, int(max_features * n_features))
    raise ValueError(
        f"max_features must be None, 'sqrt', 'log2', an int in [1, n_features] or a float "
        f"in (0, 1], got {max_features!r}."
    )


def check_int(value, name: str, low: int, high: int | None = None) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}.")
    return int(value)


def check_float(value, name: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
    return float(value)


def fraction_or_int(value, name: str, low: int, n_samples: int, upper_closed: bool) -> int:
    """An int >= ``low``, or a fraction of ``n_samples`` (rounded up)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_int(value, name, low)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        ok = 0.0 < value <= 1.0 if upper_closed else 0.0 < value < 1.0
        if ok:
            return max(low, math.ceil(value * n_samples))
    interval = "(0, 1]" if upper_closed else "(0, 1)"
    raise ValueError(f"{name} must be an integer >= {low} or a float in {interval}, got {value!r}.")
