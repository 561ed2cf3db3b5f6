"""Train/test splits, k-fold cross-validation and ``cross_val_score`` (scikit-learn's API).

Splits keep the type of what they split: NumPy arrays, pandas DataFrames/Series (by
position, index labels preserved) and lists. Randomness comes only from
``random_state`` (an int, a ``numpy.random.Generator`` or None), so the same seed gives
the same split; the draws differ from scikit-learn's, which uses another generator.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from mlcore import metrics
from mlcore.base import check_random_state

__all__ = ["KFold", "StratifiedKFold", "cross_val_score", "train_test_split"]


def _num_samples(array) -> int:
    shape = getattr(array, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(array)
    except TypeError:
        raise ValueError(f"Expected an array-like, got {type(array).__name__}.") from None


def _take(array, index: np.ndarray):
    """Rows ``index`` of ``array``, keeping its type."""
    if hasattr(array, "iloc"):
        return array.iloc[index]
    if isinstance(array, np.ndarray):
        return array[index]
    if isinstance(array, list | tuple):
        return [array[i] for i in index]
    return np.asarray(array)[index]


def _check_size(value, name: str, n_samples: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Invalid value for {name}: {value!r}")
    if isinstance(value, numbers.Integral):
        if not 0 < value < n_samples:
            raise ValueError(
                f"{name}={value} should be either positive and smaller than the number of "
                f"samples {n_samples} or a float in the (0, 1) range"
            )
    elif not 0 < value < 1:
        raise ValueError(
            f"{name}={value} should be either positive and smaller than the number of "
            f"samples {n_samples} or a float in the (0, 1) range"
        )


def _split_sizes(n_samples: int, test_size, train_size) -> tuple[int, int]:
    """Train and test sizes, with scikit-learn's rounding (test rounds up)."""
    if test_size is None and train_size is None:
        test_size = 0.25
    _check_size(test_size, "test_size", n_samples)
    _check_size(train_size, "train_size", n_samples)
    floats = [s for s in (test_size, train_size) if isinstance(s, float)]
    if len(floats) == 2 and sum(floats) > 1:
        raise ValueError(
            f"The sum of test_size and train_size = {sum(floats)}, should be in the (0, 1) "
            "range. Reduce test_size and/or train_size."
        )
    n_test = None if test_size is None else _count(test_size, n_samples, math.ceil)
    n_train = None if train_size is None else _count(train_size, n_samples, math.floor)
    if n_train is None:
        n_train = n_samples - n_test
    elif n_test is None:
        n_test = n_samples - n_train
    if n_train + n_test > n_samples:
        raise ValueError(
            f"The sum of train_size and test_size = {n_train + n_test}, should be smaller "
            f"than the number of samples {n_samples}. Reduce test_size and/or train_size."
        )
    if n_train == 0 or n_test == 0:
        which = "train" if n_train == 0 else "test"
        raise ValueError(
            f"With n_samples={n_samples}, test_size={test_size} and train_size={train_size}, "
            f"the resulting {which} set will be empty. Adjust any of the aforementioned "
            "parameters."
        )
    return n_train, n_test


def _count(size, n_samples: int, rounding) -> int:
    return int(size) if isinstance(size, numbers.Integral) else int(rounding(size * n_samples))


def _approximate_mode(counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """Per-class counts summing to ``n_draws``, proportional to ``counts``.

    Floors the exact proportions, then hands the leftover draws to the classes with the
    largest remainders (ties broken at random), as scikit-learn does.
    """
    exact = counts / counts.sum() * n_draws
    floored = np.floor(exact)
    missing = int(n_draws - floored.sum())
    remainder = exact - floored
    for value in np.sort(np.unique(remainder))[::-1]:
        if missing <= 0:
            break
        tied = np.flatnonzero(remainder == value)
        chosen = rng.choice(tied, size=min(len(tied), missing), replace=False)
        floored[chosen] += 1
        missing -= len(chosen)
    return floored.astype(np.intp)


def _stratified_split(y, n_train: int, n_test: int, rng) -> tuple[np.ndarray, np.ndarray]:
    classes, codes = np.unique(_column(y, "stratify"), return_inverse=True)
    codes = codes.ravel()
    counts = np.bincount(codes)
    if counts.min() < 2:
        raise ValueError(
            "The least populated class in y has only 1 member, which is too few. The "
            "minimum number of groups for any class cannot be less than 2."
        )
    for size, name in ((n_train, "train_size"), (n_test, "test_size")):
        if size < len(classes):
            raise ValueError(
                f"The {name} = {size} should be greater or equal to the number of "
                f"classes = {len(classes)}"
            )
    train_counts = _approximate_mode(counts, n_train, rng)
    test_counts = _approximate_mode(counts - train_counts, n_test, rng)
    order = np.argsort(codes, kind="stable")
    members = np.split(order, np.cumsum(counts)[:-1])
    train, test = [], []
    for rows, n_tr, n_te in zip(members, train_counts, test_counts, strict=True):
        rows = rng.permutation(rows)
        train.append(rows[:n_tr])
        test.append(rows[n_tr : n_tr + n_te])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _column(y, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}.")
    if y.dtype == object:
        y = y.astype(str)
    return y


def train_test_split(
    *arrays, test_size=None, train_size=None, random_state=None, shuffle=True, stratify=None
):
    """Split arrays into random train and test subsets.

    Parameters
    ----------
    *arrays : arrays, DataFrames, Series or lists of the same length
    test_size : float or int, optional
        Fraction (0, 1) or number of test samples; 0.25 when ``train_size`` is also None,
        else the complement of ``train_size``. A fraction rounds up.
    train_size : float or int, optional
        Fraction or number of training samples; by default the complement of the test
        set. A fraction rounds down.
    random_state : int, numpy.random.Generator or None
    shuffle : bool, default=True
        Without shuffling the first samples train and the next ones test.
    stratify : array-like of shape (n_samples,), optional
        Class labels whose proportions both subsets keep (requires ``shuffle``).

    Returns
    -------
    splitting : list
        ``[a_train, a_test, b_train, b_test, ...]``, each of its input's type.

    Raises
    ------
    ValueError
        For inconsistent lengths, sizes out of range or empty subsets, stratification
        without shuffling, or a class with a single member.
    """
    if not arrays:
        raise ValueError("At least one array required as input")
    lengths = [_num_samples(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")
    n_samples = lengths[0]
    n_train, n_test = _split_sizes(n_samples, test_size, train_size)
    if not shuffle:
        if stratify is not None:
            raise ValueError("Stratified train/test split is not implemented for shuffle=False")
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    else:
        rng = check_random_state(random_state)
        if stratify is not None:
            if _num_samples(stratify) != n_samples:
                raise ValueError("stratify must have the same length as the arrays.")
            train, test = _stratified_split(stratify, n_train, n_test, rng)
        else:
            permutation = rng.permutation(n_samples)
            test, train = permutation[:n_test], permutation[n_test : n_test + n_train]
    return [part for a in arrays for part in (_take(a, train), _take(a, test))]


class KFold:
    """K-fold cross-validation: consecutive folds (shuffled first if asked).

    The first ``n_samples % n_splits`` folds get one extra sample. Train and test
    indices are returned in increasing order.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
    random_state : int, numpy.random.Generator or None
        Seed of the shuffle; only allowed with ``shuffle=True``.
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral):
            raise ValueError(f"The number of folds must be of Integral type, got {n_splits!r}.")
        if n_splits < 2:
            raise ValueError(
                "k-fold cross-validation requires at least one train/test split by setting "
                f"n_splits=2 or more, got n_splits={n_splits}."
            )
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False. You should "
                "leave random_state to its default (None), or set shuffle=True."
            )
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_splits={self.n_splits}, shuffle={self.shuffle}, "
            f"random_state={self.random_state!r})"
        )

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds."""
        return self.n_splits

    def _test_folds(self, n_samples: int, y) -> np.ndarray:
        """Fold number of every sample."""
        sizes = np.full(self.n_splits, n_samples // self.n_splits)
        sizes[: n_samples % self.n_splits] += 1
        folds = np.repeat(np.arange(self.n_splits), sizes)
        if self.shuffle:
            folds = folds[check_random_state(self.random_state).permutation(n_samples)]
        return folds

    def split(self, X, y=None, groups=None):
        """Yield ``(train_index, test_index)`` for each fold.

        Raises
        ------
        ValueError
            If there are more folds than samples.
        """
        n_samples = _num_samples(X)
        if self.n_splits > n_samples:
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the "
                f"number of samples: n_samples={n_samples}."
            )
        folds = self._test_folds(n_samples, y)
        for fold in range(self.n_splits):
            yield np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)


class StratifiedKFold(KFold):
    """K-fold cross-validation that keeps each class's share in every fold.

    Same fold assignment as scikit-learn's: classes are taken in order of first
    appearance and dealt round-robin over the folds; ``shuffle`` shuffles each class's
    fold assignment. Warns (``UserWarning``) when a class has fewer members than folds.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=False
    random_state : int, numpy.random.Generator or None
    """

    def _test_folds(self, n_samples: int, y) -> np.ndarray:
        if y is None:
            raise ValueError("StratifiedKFold.split needs the class labels y.")
        y = _column(y, "y")
        if len(y) != n_samples:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: "
                f"[{n_samples}, {len(y)}]"
            )
        _, first_seen, inverse = np.unique(y, return_index=True, return_inverse=True)
        codes = np.argsort(np.argsort(first_seen))[inverse.ravel()]  # order of appearance
        counts = np.bincount(codes)
        if np.all(self.n_splits > counts):
            raise ValueError(
                f"n_splits={self.n_splits} cannot be greater than the number of members in "
                "each class."
            )
        if self.n_splits > counts.min():
            warnings.warn(
                f"The least populated class in y has only {counts.min()} members, which is "
                f"less than n_splits={self.n_splits}.",
                UserWarning,
                stacklevel=3,
            )
        dealt = np.sort(codes)
        allocation = np.array(
            [
                np.bincount(dealt[i :: self.n_splits], minlength=len(counts))
                for i in range(self.n_splits)
            ]
        )
        rng = check_random_state(self.random_state) if self.shuffle else None
        folds = np.empty(n_samples, dtype=np.intp)
        for code in range(len(counts)):
            for_class = np.repeat(np.arange(self.n_splits), allocation[:, code])
            if rng is not None:
                rng.shuffle(for_class)
            folds[codes == code] = for_class
        return folds


_SCORERS = {
    "accuracy": (metrics.accuracy_score, {}, 1),
    "f1": (metrics.f1_score, {}, 1),
    "f1_macro": (metrics.f1_score, {"average": "macro"}, 1),
    "f1_micro": (metrics.f1_score, {"average": "micro"}, 1),
    "f1_weighted": (metrics.f1_score, {"average": "weighted"}, 1),
    "precision": (metrics.precision_score, {}, 1),
    "precision_macro": (metrics.precision_score, {"average": "macro"}, 1),
    "precision_weighted": (metrics.precision_score, {"average": "weighted"}, 1),
    "recall": (metrics.recall_score, {}, 1),
    "recall_macro": (metrics.recall_score, {"average": "macro"}, 1),
    "recall_weighted": (metrics.recall_score, {"average": "weighted"}, 1),
    "r2": (metrics.r2_score, {}, 1),
    "neg_mean_absolute_error": (metrics.mean_absolute_error, {}, -1),
    "neg_mean_squared_error": (metrics.mean_squared_error, {}, -1),
    "neg_root_mean_squared_error": (metrics.root_mean_squared_error, {}, -1),
}


def _scorer(scoring):
    if scoring is None:
        return lambda est, X, y: est.score(X) if y is None else est.score(X, y)
    if callable(scoring):
        return scoring
    if scoring not in _SCORERS:
        raise ValueError(f"Unknown scoring {scoring!r}; use one of {sorted(_SCORERS)}.")
    func, kwargs, sign = _SCORERS[scoring]
    return lambda est, X, y: sign * func(y, est.predict(X), **kwargs)


def _is_classifier(estimator) -> bool:
    if getattr(estimator, "_estimator_type", None) == "classifier":
        return True
    tags = getattr(estimator, "__sklearn_tags__", None)  # scikit-learn >= 1.6 estimators
    try:
        return tags is not None and tags().estimator_type == "classifier"
    except Exception:  # a foreign estimator's tags are best effort
        return False


def _is_discrete(y) -> bool:
    y = np.asarray(y)
    if y.dtype.kind in "biuUO":
        return True
    return y.dtype.kind == "f" and bool(np.all(np.isfinite(y))) and bool(np.all(y == np.round(y)))


def cross_val_score(estimator, X, y=None, *, cv=5, scoring=None):
    """Score an estimator on each fold of a cross-validation.

    Each fold fits a fresh copy, ``type(estimator)(**estimator.get_params())``; the
    given estimator is left untouched.

    Parameters
    ----------
    estimator : mlcore or scikit-learn style estimator
    X : array-like or DataFrame of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), optional
    cv : int, splitter or iterable of (train, test), default=5
        An int means :class:`StratifiedKFold` for classifiers with class labels and
        :class:`KFold` otherwise (no shuffling).
    scoring : str or callable, optional
        None uses ``estimator.score``; a name such as ``"accuracy"``, ``"f1_macro"``,
        ``"r2"`` or ``"neg_mean_squared_error"``; or ``scorer(estimator, X, y)``.

    Returns
    -------
    scores : ndarray of shape (n_splits,)
    """
    scorer = _scorer(scoring)
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        classifier = _is_classifier(estimator)
        stratify = classifier and y is not None and _is_discrete(y)
        cv = StratifiedKFold(cv) if stratify else KFold(cv)
    splits = cv.split(X, y) if hasattr(cv, "split") else cv
    scores = []
    for train, test in splits:
        model = type(estimator)(**estimator.get_params())
        if y is None:
            model.fit(_take(X, train))
            scores.append(scorer(model, _take(X, test), None))
        else:
            model.fit(_take(X, train), _take(y, train))
            scores.append(scorer(model, _take(X, test), _take(y, test)))
    return np.asarray(scores, dtype=np.float64)
