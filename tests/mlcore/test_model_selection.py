"""Tests for mlcore.model_selection, with scikit-learn's splitters as the oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.model_selection as skms
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlcore.base import BaseEstimator, ClassifierMixin
from mlcore.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split


def _assert_partition(train, test, n, n_test=None):
    both = np.concatenate([train, test])
    assert sorted(both.tolist()) == list(range(n))
    if n_test is not None:
        assert len(test) == n_test


# ----------------------------------------------------------------- train_test_split
@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 200),
    size=st.one_of(st.floats(0.01, 0.99), st.integers(1, 199)),
    which=st.sampled_from(["test_size", "train_size"]),
    seed=st.integers(0, 100),
)
def test_split_sizes_match_sklearn(n, size, which, seed):
    X = np.arange(n)
    try:
        expected = skms.train_test_split(X, **{which: size}, random_state=0)
    except ValueError:
        with pytest.raises(ValueError):
            train_test_split(X, **{which: size}, random_state=seed)
        return
    train, test = train_test_split(X, **{which: size}, random_state=seed)
    assert (len(train), len(test)) == (len(expected[0]), len(expected[1]))
    _assert_partition(train, test, n)


def test_split_keeps_types_and_rows_aligned():
    df = pd.DataFrame({"a": range(20), "b": list("abcdefghijklmnopqrst")}, index=range(100, 120))
    y = pd.Series(range(20), index=df.index, name="y")
    X_np = np.arange(40).reshape(20, 2)
    as_list = list(range(20))
    parts = train_test_split(df, y, X_np, as_list, test_size=0.3, random_state=1)
    df_tr, df_te, y_tr, y_te, np_tr, np_te, list_tr, list_te = parts
    assert isinstance(df_tr, pd.DataFrame) and isinstance(y_te, pd.Series)
    assert isinstance(np_tr, np.ndarray) and isinstance(list_te, list)
    assert len(df_te) == len(y_te) == len(np_te) == len(list_te) == 6
    np.testing.assert_array_equal(df_tr.index, y_tr.index)  # same rows in every output
    np.testing.assert_array_equal(df_tr["a"].to_numpy(), np_tr[:, 0] // 2)
    assert list_tr == df_tr["a"].tolist()
    again = train_test_split(df, test_size=0.3, random_state=1)
    pd.testing.assert_frame_equal(again[0], df_tr)


def test_split_without_shuffle_is_ordered():
    train, test = train_test_split(np.arange(10), test_size=3, shuffle=False)
    assert train.tolist() == list(range(7)) and test.tolist() == [7, 8, 9]
    assert train_test_split(np.arange(8))[1].shape == (2,)  # default: 25 % test


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(2, 40), min_size=2, max_size=5),
    test_size=st.floats(0.1, 0.5),
    seed=st.integers(0, 1000),
)
def test_stratified_split_keeps_proportions(counts, test_size, seed):
    y = np.repeat([f"class{i}" for i in range(len(counts))], counts)
    n = len(y)
    try:
        expected = skms.train_test_split(y, test_size=test_size, stratify=y, random_state=0)
    except ValueError:
        with pytest.raises(ValueError):
            train_test_split(y, test_size=test_size, stratify=y, random_state=seed)
        return
    index = np.arange(n)
    train, test = train_test_split(index, test_size=test_size, stratify=y, random_state=seed)
    _assert_partition(train, test, n, n_test=len(expected[1]))
    for label in np.unique(y):
        ours, theirs = (y[test] == label).sum(), (expected[1] == label).sum()
        assert abs(int(ours) - int(theirs)) <= 1
        assert abs((y[test] == label).mean() - (y == label).mean()) <= 1.0 / len(test) + 1e-9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_size": 0.0}, "test_size=0.0 should be"),
        ({"test_size": 1.0}, "test_size=1.0 should be"),
        ({"test_size": -0.2}, "test_size=-0.2 should be"),
        ({"test_size": 10}, "test_size=10 should be"),
        ({"test_size": 0.6, "train_size": 0.6}, "sum of test_size and train_size"),
        ({"test_size": 5, "train_size": 6}, "should be smaller than the number of samples"),
        ({"test_size": "half"}, "Invalid value for test_size"),
        ({"stratify": [0] * 9 + [1]}, "only 1 member"),
        ({"stratify": [0, 1] * 5, "shuffle": False}, "shuffle=False"),
        ({"train_size": 0.05}, "train set will be empty"),
    ],
)
def test_split_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_test_split(np.arange(10), **kwargs)


def test_split_argument_errors():
    with pytest.raises(ValueError, match="At least one array"):
        train_test_split()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        train_test_split(np.arange(5), np.arange(6))


# ---------------------------------------------------------------------------- KFold
@pytest.mark.parametrize(("n", "n_splits"), [(10, 2), (11, 3), (7, 7), (100, 5)])
def test_kfold_matches_sklearn(n, n_splits):
    ours = list(KFold(n_splits).split(np.zeros((n, 1))))
    theirs = list(skms.KFold(n_splits).split(np.zeros((n, 1))))
    for (a_tr, a_te), (b_tr, b_te) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a_tr, b_tr)
        np.testing.assert_array_equal(a_te, b_te)
    assert KFold(n_splits).get_n_splits() == n_splits


def test_kfold_shuffle_partitions_and_is_reproducible():
    folds = list(KFold(4, shuffle=True, random_state=3).split(np.arange(22)))
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(22))
    assert sorted(len(test) for _, test in folds) == [5, 5, 6, 6]
    for train, test in folds:
        _assert_partition(train, test, 22)
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    again = list(KFold(4, shuffle=True, random_state=3).split(np.arange(22)))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    assert not np.array_equal(folds[0][1], np.arange(6))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: KFold(1), "n_splits=2 or more"),
        (lambda: KFold(2.5), "Integral"),
        (lambda: KFold(3, random_state=0), "no effect since shuffle is False"),
        (lambda: list(KFold(6).split(np.arange(5))), "greater than the number of samples"),
        (lambda: list(StratifiedKFold(3).split(np.zeros(6), [0, 0, 1, 1, 2, 2])), "each class"),
        (lambda: list(StratifiedKFold(2).split(np.zeros(4))), "labels y"),
    ],
)
def test_kfold_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ------------------------------------------------------------------ StratifiedKFold
@settings(max_examples=40, deadline=None)
@given(
    y=st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=60),
    n_splits=st.integers(2, 4),
)
def test_stratified_kfold_matches_sklearn(y, n_splits):
    counts = np.unique(y, return_counts=True)[1]
    if counts.min() < n_splits:
        return  # covered by the warning test
    X = np.zeros((len(y), 1))
    ours = list(StratifiedKFold(n_splits).split(X, y))
    theirs = list(skms.StratifiedKFold(n_splits).split(X, y))
    for (a_tr, a_te), (b_tr, b_te) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a_tr, b_tr)
        np.testing.assert_array_equal(a_te, b_te)
    shuffled = list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y))
    y = np.asarray(y)
    for (a_tr, a_te), (_, b_te) in zip(shuffled, ours, strict=True):
        _assert_partition(a_tr, a_te, len(y))
        for label in "abc":  # shuffling keeps each fold's class counts
            assert (y[a_te] == label).sum() == (y[b_te] == label).sum()


def test_stratified_kfold_warns_on_small_class():
    y = [0] * 10 + [1] * 2
    with pytest.warns(UserWarning, match="only 2 members, which is less than n_splits=3"):
        folds = list(StratifiedKFold(3).split(np.zeros(12), y))
    assert len(folds) == 3


# ------------------------------------------------------------------ cross_val_score
class NearestMean(ClassifierMixin, BaseEstimator):
    """A tiny mlcore-style classifier for the tests."""

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y):
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.means_ = np.array([X[codes == c].mean(axis=0) for c in range(len(self.classes_))])
        self.means_ *= 1.0 - self.shrink
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        dist = ((X[:, None, :] - self.means_[None]) ** 2).sum(axis=-1)
        return self.classes_[dist.argmin(axis=1)]


def test_cross_val_score_matches_sklearn_folds():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=90) > 0).astype(int)
    for estimator, scoring in ((LogisticRegression(), None), (LogisticRegression(), "f1_macro")):
        ours = cross_val_score(estimator, X, y, cv=4, scoring=scoring)
        theirs = skms.cross_val_score(estimator, X, y, cv=4, scoring=scoring)
        np.testing.assert_allclose(ours, theirs)
    target = X @ [1.0, 2.0, 0.0] + rng.normal(size=90)
    for scoring in (None, "neg_mean_squared_error", "r2"):
        ours = cross_val_score(LinearRegression(), X, target, cv=3, scoring=scoring)
        theirs = skms.cross_val_score(LinearRegression(), X, target, cv=3, scoring=scoring)
        np.testing.assert_allclose(ours, theirs)


def test_cross_val_score_clones_and_accepts_dataframes():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["u", "v"])
    y = pd.Series(np.where(X["u"] > 0, "pos", "neg"))
    model = NearestMean(shrink=0.1)
    scores = cross_val_score(model, X, y, cv=5)
    assert scores.shape == (5,) and np.all((scores >= 0) & (scores <= 1))
    assert not hasattr(model, "means_")  # the given estimator stays unfitted
    manual = []
    for train, test in StratifiedKFold(5).split(X, y):
        fitted = NearestMean(shrink=0.1).fit(X.iloc[train], y.iloc[train])
        manual.append(fitted.score(X.iloc[test], y.iloc[test]))
    np.testing.assert_allclose(scores, manual)
    custom = cross_val_score(
        model,
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=(lambda est, X_test, y_test: float(len(X_test))),
    )
    assert custom.tolist() == [20.0, 20.0, 20.0]
    with pytest.raises(ValueError, match="Unknown scoring"):
        cross_val_score(model, X, y, scoring="bogus")
