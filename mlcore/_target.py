"""The target column: classification or regression, and ``y`` for an estimator."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from mlcore._columns import normalize_values

# A numeric target with at most this many distinct integer values is read as classes.
MAX_CLASSES_FOR_INTEGERS = 20
# A text target with at least this share of distinct values may be free text (then checked
# for sentences: mostly with spaces, 30 characters on average, as in column inference).
FREE_TEXT_DISTINCT = 0.5


class PreparedTarget(NamedTuple):
    """Result of :func:`prepare_target`.

    Attributes
    ----------
    y : ndarray
        Target values of the rows that have one (labels or floats).
    task : {"classification", "regression"}
    present : ndarray of bool
        Mask over the input rows: True where the target is not missing.
    """

    y: np.ndarray
    task: str
    present: np.ndarray


def infer_task(series) -> str:
    """Guess whether predicting ``series`` is classification or regression.

    Text, booleans and categories are classes. Numbers are classes when they are all
    integers with at most 20 distinct values and at most one distinct value per 5 rows
    (so 0/1 or 1-5 ratings are classes, prices and counts of many values are not).
    Callers can always override the guess.

    Parameters
    ----------
    series : pandas.Series or array-like

    Returns
    -------
    {"classification", "regression"}
    """
    series = pd.Series(series) if not isinstance(series, pd.Series) else series
    values = normalize_values(series).dropna()
    if len(values) == 0:
        return "classification"
    numbers_, bad = _numbers(values)
    if bad.any() or pd.api.types.is_bool_dtype(series):
        return "classification"
    n_unique = len(np.unique(numbers_))
    integer = bool(np.all(numbers_ == np.round(numbers_)))
    few = n_unique <= 2 or (n_unique <= MAX_CLASSES_FOR_INTEGERS and n_unique * 5 <= len(values))
    return "classification" if integer and few else "regression"


def prepare_target(series, task=None) -> PreparedTarget:
    """Validate a target column and turn it into ``y`` for an estimator.

    Rows whose target is missing are excluded (see ``present``). Class labels become
    int64 when they are integers, otherwise strings; regression targets float64.

    Parameters
    ----------
    series : pandas.Series
        The target column.
    task : {"classification", "regression"}, optional
        Overrides :func:`infer_task`.

    Returns
    -------
    PreparedTarget
        ``(y, task, present)``.

    Raises
    ------
    ValueError
        When every value is missing, a regression target is not numeric, ``task`` is
        unknown, or a classification target cannot be learned: a single class, a value
        per row (an identifier or a name), free text, or more than half of its classes
        seen only once. The message says what to choose instead.
    """
    series = pd.Series(series) if not isinstance(series, pd.Series) else series
    name = f"Target column {str(series.name)!r}" if series.name is not None else "The target"
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    values = normalize_values(series)
    present = values.notna().to_numpy()
    if not present.any():
        raise ValueError(f"{name} has no values (all missing).")
    values = values[present]
    task = task or infer_task(series)
    numbers_, bad = _numbers(values)
    if task == "regression":
        if bad.any():
            examples = ", ".join(repr(v) for v in values[bad].unique()[:3])
            raise ValueError(
                f"{name} must be numeric for regression; found {examples}. "
                "Choose classification for text labels."
            )
        return PreparedTarget(numbers_, task, present)
    if not bad.any() and np.all(numbers_ == np.round(numbers_)):
        y = numbers_.astype(np.int64)
    elif not bad.any() and not pd.api.types.is_bool_dtype(series):
        y = numbers_
    else:
        y = np.array([str(v) for v in values], dtype=str)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{name} has a single class {classes[0]!r}; classification needs at least 2."
        )
    _check_classes(name, values, y, numeric=not bad.any())
    return PreparedTarget(y, task, present)


def _check_classes(name: str, values: pd.Series, y: np.ndarray, *, numeric: bool) -> None:
    """Refuse targets no classifier can learn, saying what to choose instead.

    A class seen once lands either in the training split (never tested) or in the test split
    (never learned): a target whose classes are mostly single rows cannot be trained and
    measured, and one with a value per row is an identifier, a name or free text."""
    classes, counts = np.unique(y, return_counts=True)
    n_rows, n_classes = len(y), len(classes)
    instead = (
        "Choose regression for this numeric column, or a column whose values repeat."
        if numeric
        else "Choose a column whose values repeat, such as a category."
    )
    text = values.astype(str)
    if not numeric and n_classes >= FREE_TEXT_DISTINCT * n_rows and n_rows >= 3:
        wordy = text.str.contains(" ").mean() >= 0.5 and text.str.len().mean() >= 30
        if wordy:
            raise ValueError(
                f"{name} holds free text (long, mostly different sentences), not classes "
                f"to predict. {instead}"
            )
    if n_classes == n_rows and n_rows >= 3:
        raise ValueError(
            f"{name} has a different value in every row ({n_rows} rows), so no class "
            f"repeats and there is nothing to learn: it looks like an identifier or a name. "
            f"{instead}"
        )
    singletons = int(np.sum(counts == 1))
    if singletons * 2 > n_classes:
        raise ValueError(
            f"{name} has {n_classes} classes in {n_rows} rows and {singletons} of them occur "
            f"only once: too many classes for this much data (a class must be seen in both "
            f"the training and the test rows). {instead}"
        )


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    # Booleans are labels, not the numbers 0 and 1.
    is_bool = np.array([isinstance(v, bool | np.bool_) for v in values], dtype=bool)
    numbers_ = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = is_bool | ~np.isfinite(numbers_)
    return numbers_, bad
