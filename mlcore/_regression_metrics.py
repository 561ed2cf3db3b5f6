"""Regression metrics with scikit-learn's names and results (re-exported by ``metrics``).

All accept 1-D targets or 2-D multi-output targets, ``sample_weight`` and
``multioutput`` ("raw_values", "uniform_average" or output weights).

Each metric runs scikit-learn's formula in the same order of operations, so the
results agree to the last bit, including at the edges of float64: a target whose
variance is tiny but not zero (``[8.57e-159, 0]`` has a subnormal sum of squares,
3.7e-317) gives an R² below -1.8e308, which float64 rounds to ``-inf``. That is
scikit-learn's answer too; we return it without the overflow RuntimeWarning, which
carries no information beyond the ``-inf`` itself.
"""

from __future__ import annotations

import numpy as np


def _check_lengths(*arrays) -> None:
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")


def _regression_inputs(y_true, y_pred, sample_weight):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    if y_true.ndim != 2 or y_pred.ndim != 2:
        raise ValueError("y_true and y_pred must be 1-D or 2-D arrays.")
    _check_lengths(y_true, y_pred)
    if y_true.shape[1] != y_pred.shape[1]:
        raise ValueError(
            f"y_true and y_pred have different number of output ({y_true.shape[1]}"
            f"!={y_pred.shape[1]})"
        )
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty; at least one sample is required.")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("Input contains NaN or infinity.")
    weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=np.float64).ravel()
        _check_lengths(y_true, weight)
        # scikit-learn's checks (_check_sample_weight); without them np.average would
        # raise ZeroDivisionError or return NaN.
        if not np.isfinite(weight).all():
            raise ValueError("Input sample_weight contains NaN or infinity.")
        if not weight.any():
            raise ValueError("Sample weights must contain at least one non-zero number.")
    return y_true, y_pred, weight


def _combine_outputs(errors: np.ndarray, multioutput):
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return errors
        if multioutput != "uniform_average":
            raise ValueError(
                f"multioutput must be 'raw_values', 'uniform_average' or an array of "
                f"weights, got {multioutput!r}."
            )
        return float(np.average(errors))
    return float(np.average(errors, weights=np.asarray(multioutput, dtype=np.float64)))


def mean_absolute_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean absolute error (per output with ``multioutput="raw_values"``)."""
    y_true, y_pred, weight = _regression_inputs(y_true, y_pred, sample_weight)
    errors = np.average(np.abs(y_pred - y_true), weights=weight, axis=0)
    return _combine_outputs(errors, multioutput)


def mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean squared error (per output with ``multioutput="raw_values"``)."""
    y_true, y_pred, weight = _regression_inputs(y_true, y_pred, sample_weight)
    errors = np.average((y_pred - y_true) ** 2, weights=weight, axis=0)
    return _combine_outputs(errors, multioutput)


def root_mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Root mean squared error, taken per output before averaging (as scikit-learn)."""
    errors = np.sqrt(
        mean_squared_error(y_true, y_pred, sample_weight=sample_weight, multioutput="raw_values")
    )
    return _combine_outputs(errors, multioutput)


def r2_score(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Coefficient of determination R² (1 is perfect; can be negative).

    As scikit-learn (``force_finite=True``): a constant ``y_true`` scores 1.0 when
    predicted exactly and 0.0 otherwise; fewer than two samples give NaN (silently).
    A variance so small that the ratio overflows gives ``-inf`` (silently; scikit-learn
    gives the same with a RuntimeWarning). ``multioutput`` may also be
    ``"variance_weighted"``.
    """
    y_true, y_pred, weight = _regression_inputs(y_true, y_pred, sample_weight)
    if len(y_true) < 2:
        return np.nan
    w = 1.0 if weight is None else weight[:, None]
    numerator = (w * (y_true - y_pred) ** 2).sum(axis=0)
    mean = np.average(y_true, axis=0, weights=weight)
    denominator = (w * (y_true - mean) ** 2).sum(axis=0)
    scores = np.ones(y_true.shape[1])
    valid = (denominator != 0) & (numerator != 0)
    with np.errstate(over="ignore"):  # a tiny denominator: the ratio rounds to inf
        scores[valid] = 1.0 - numerator[valid] / denominator[valid]
    scores[(numerator != 0) & (denominator == 0)] = 0.0
    if isinstance(multioutput, str) and multioutput == "variance_weighted":
        if not np.any(denominator != 0):
            return float(np.average(scores))
        return float(np.average(scores, weights=denominator))
    return _combine_outputs(scores, multioutput)
