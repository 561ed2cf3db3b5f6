"""Label-based classification metrics: the shared counting behind ``mlcore.metrics``.

Private module; the public names are re-exported by :mod:`mlcore.metrics`.
"""

from __future__ import annotations

import numpy as np

_AVERAGES = (None, "binary", "micro", "macro", "weighted")


# --------------------------------------------------------------------------- labels
def _labels_1d(y, name: str) -> np.ndarray:
    """``y`` as a 1-D array of numbers or of strings (``'U'``)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}.")
    if arr.dtype == object:
        text = [isinstance(v, str) for v in arr]
        if all(text):
            arr = arr.astype(str)
        elif not any(text):
            arr = np.array(arr.tolist())  # numbers held as objects (e.g. from pandas)
        else:
            raise ValueError(f"{name} mixes strings and numbers; use one type of label.")
    if arr.dtype.kind not in "biufU":
        raise ValueError(f"{name} has unsupported label type {arr.dtype}.")
    return arr


def _check_lengths(*arrays) -> None:
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")


def _encode(y_true, y_pred, sample_weight=None):
    """Validate a pair of label vectors; return (classes, true codes, pred codes, weight)."""
    y_true = _labels_1d(y_true, "y_true")
    y_pred = _labels_1d(y_pred, "y_pred")
    _check_lengths(y_true, y_pred)
    if (y_true.dtype.kind == "U") != (y_pred.dtype.kind == "U") and len(y_true):
        raise ValueError("Mix of label input types (string and number) in y_true and y_pred.")
    classes = np.union1d(y_true, y_pred)
    weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=np.float64).ravel()
        _check_lengths(y_true, weight)
    return classes, np.searchsorted(classes, y_true), np.searchsorted(classes, y_pred), weight


def _positions(classes: np.ndarray, labels) -> tuple[np.ndarray, np.ndarray]:
    """Index of each of ``labels`` in ``classes`` and whether it occurs there at all."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError("labels must be a non-empty 1-D list of labels.")
    if len(classes) == 0:
        return np.zeros(len(labels), dtype=np.intp), np.zeros(len(labels), dtype=bool)
    if (labels.dtype.kind == "U") != (classes.dtype.kind == "U"):
        raise ValueError("labels are not of the same type (string or number) as the targets.")
    index = np.minimum(np.searchsorted(classes, labels), len(classes) - 1)
    return index, classes[index] == labels


# ------------------------------------------------------------------ classification
def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Fraction (or, with ``normalize=False``, number) of exactly right predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    normalize : bool, default=True
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    score : float
    """
    _, t, p, weight = _encode(y_true, y_pred, sample_weight)
    hits = (t == p).astype(np.float64)
    if normalize:
        return float(np.average(hits, weights=weight)) if len(hits) else 0.0
    return float(hits @ weight) if weight is not None else float(hits.sum())


def _zero_division_value(zero_division) -> float:
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}.")
        return 0.0
    if np.isnan(zero_division):
        return np.nan
    if zero_division in (0, 1):
        return float(zero_division)
    raise ValueError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}.")


def _divide(numerator, denominator, zero_value: float) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    empty = denominator == 0
    out = np.divide(numerator, np.where(empty, 1.0, denominator))
    out[empty] = zero_value
    return out


def _nan_average(values: np.ndarray, weights=None) -> float:
    keep = ~np.isnan(values)
    if not keep.any():
        return np.nan
    if weights is None or not np.asarray(weights)[keep].sum() > 0:
        return float(values[keep].mean())
    return float(np.average(values[keep], weights=np.asarray(weights)[keep]))


def precision_recall_fscore_support(
    y_true,
    y_pred,
    *,
    beta=1.0,
    labels=None,
    pos_label=1,
    average=None,
    sample_weight=None,
    zero_division="warn",
):
    """Precision, recall, F-beta and support, per class or averaged.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    beta : float, default=1.0
        Weight of recall in the F-score.
    labels : array-like, optional
        Labels to report (and to average over); by default every label present.
    pos_label : int, float, bool or str, default=1
        The positive class when ``average="binary"``.
    average : {None, "binary", "micro", "macro", "weighted"}, default=None
        ``None`` returns per-class arrays; ``"binary"`` the scores of ``pos_label``;
        ``"micro"`` pools all decisions; ``"macro"`` is the unweighted class mean;
        ``"weighted"`` weights classes by support.
    sample_weight : array-like of shape (n_samples,), optional
    zero_division : {"warn", 0, 1, nan}, default="warn"
        Value of a ratio whose denominator is zero; ``"warn"`` means 0, without a
        warning.

    Returns
    -------
    precision, recall, fbeta : float or ndarray
    support : ndarray of int or None
        Number of true samples per class (None when averaged).
    """
    if average not in _AVERAGES:
        raise ValueError(f"average has to be one of {_AVERAGES}, got {average!r}.")
    if not beta >= 0:
        raise ValueError(f"beta should be >= 0, got {beta!r}.")
    zero_value = _zero_division_value(zero_division)
    classes, t, p, weight = _encode(y_true, y_pred, sample_weight)
    if average == "binary":
        if len(classes) > 2:
            raise ValueError(
                "Target is multiclass but average='binary'. Please choose another average "
                "setting, one of [None, 'micro', 'macro', 'weighted']."
            )
        if pos_label not in classes.tolist() and len(classes) >= 2:
            raise ValueError(
                f"pos_label={pos_label!r} is not a valid label. It should be one of "
                f"{classes.tolist()}"
            )
        labels = [pos_label]
    n = len(classes)
    true_all = np.bincount(t, weights=weight, minlength=n)
    pred_all = np.bincount(p, weights=weight, minlength=n)
    hit = t == p
    tp_all = np.bincount(t[hit], weights=None if weight is None else weight[hit], minlength=n)
    if labels is None:
        tp_sum, pred_sum, true_sum = tp_all, pred_all, true_all
    else:
        index, found = _positions(classes, labels)
        tp_sum, pred_sum, true_sum = (
            np.where(found, counts[index] if n else 0, 0) for counts in (tp_all, pred_all, true_all)
        )
    if average == "micro":
        tp_sum, pred_sum, true_sum = (np.array([c.sum()]) for c in (tp_sum, pred_sum, true_sum))

    precision = _divide(tp_sum, pred_sum, zero_value)
    recall = _divide(tp_sum, true_sum, zero_value)
    if np.isposinf(beta):
        fscore = recall
    elif beta == 0:
        fscore = precision
    else:
        beta2 = beta**2
        fscore = _divide((1 + beta2) * tp_sum, beta2 * true_sum + pred_sum, zero_value)
    if average is None:
        return precision, recall, fscore, true_sum
    weights = true_sum if average == "weighted" else None
    return (
        _nan_average(precision, weights),
        _nan_average(recall, weights),
        _nan_average(fscore, weights),
        None,
    )


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """Confusion matrix: entry ``[i, j]`` counts samples of true class ``i`` predicted ``j``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, optional
        Row and column order (samples with other labels are ignored); by default the
        sorted labels present in either vector.
    sample_weight : array-like of shape (n_samples,), optional
    normalize : {None, "true", "pred", "all"}, default=None
        Divide by row sums, column sums or the total (empty rows give zeros).

    Returns
    -------
    matrix : ndarray of shape (n_labels, n_labels)
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}.")
    classes, t, p, weight = _encode(y_true, y_pred, sample_weight)
    if labels is None:
        index, found = np.arange(len(classes)), np.ones(len(classes), dtype=bool)
    else:
        index, found = _positions(classes, labels)
        if len(t) and not (found & np.isin(index, t)).any():
            raise ValueError("At least one label specified must be in y_true")
    n_labels = len(index)
    # Map class codes to output positions; classes outside ``labels`` go to -1.
    position = np.full(len(classes), -1, dtype=np.intp)
    position[index[found]] = np.flatnonzero(found)
    row, col = position[t], position[p]
    keep = (row >= 0) & (col >= 0)
    flat = row[keep] * n_labels + col[keep]
    w = None if weight is None else weight[keep]
    matrix = np.bincount(flat, weights=w, minlength=n_labels * n_labels).reshape(n_labels, n_labels)
    if normalize is None:
        return matrix
    matrix = matrix.astype(np.float64)
    if normalize == "true":
        totals = matrix.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        totals = matrix.sum(axis=0, keepdims=True)
    else:
        totals = np.array(matrix.sum())
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals != 0)
