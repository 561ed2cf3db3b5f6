"""mlcore random forests against scikit-learn's (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets
from sklearn import ensemble as sk_ensemble
from sklearn.model_selection import StratifiedKFold, train_test_split

import mlcore.tree._bagging as bagging
from mlcore.base import NotFittedError
from mlcore.ensemble import RandomForestClassifier, RandomForestRegressor
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor


def _cv_accuracy(make, X, y):
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
    return np.mean([make().fit(X[tr], y[tr]).score(X[te], y[te]) for tr, te in folds])


@pytest.mark.parametrize(
    ("name", "n_estimators"),
    [("iris", 100), ("wine", 100), ("breast_cancer", 100), ("digits", 100)],
)
def test_cross_validated_accuracy_within_a_point_of_sklearn(name, n_estimators):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    ours = _cv_accuracy(lambda: RandomForestClassifier(n_estimators, random_state=0), X, y)
    theirs = _cv_accuracy(
        lambda: sk_ensemble.RandomForestClassifier(n_estimators, random_state=0), X, y
    )
    assert ours >= theirs - 0.01


@pytest.mark.slow
def test_large_synthetic_accuracy_within_a_point_of_sklearn():
    X, y = datasets.make_classification(
        n_samples=62_500, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    X_train, X_test, y_train, y_test = X[:50_000], X[50_000:], y[:50_000], y[50_000:]
    ours = RandomForestClassifier(40, random_state=0, n_jobs=2).fit(X_train, y_train)
    theirs = sk_ensemble.RandomForestClassifier(40, random_state=0, n_jobs=2)
    theirs.fit(X_train, y_train)
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.01


def test_regressor_r2_comparable_to_sklearn():
    X, y = datasets.make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    ours = RandomForestRegressor(50, random_state=0).fit(X_train, y_train)
    theirs = sk_ensemble.RandomForestRegressor(50, random_state=0).fit(X_train, y_train)
    assert ours.score(X_test, y_test) == pytest.approx(theirs.score(X_test, y_test), abs=0.02)
    sqrt = RandomForestRegressor(50, max_features="sqrt", random_state=0).fit(X_train, y_train)
    assert sqrt.score(X_test, y_test) > 0.7


def test_oob_scores_close_to_sklearn():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    ours = RandomForestClassifier(100, oob_score=True, random_state=0).fit(X, y)
    theirs = sk_ensemble.RandomForestClassifier(100, oob_score=True, random_state=0).fit(X, y)
    assert ours.oob_score_ == pytest.approx(theirs.oob_score_, abs=0.02)
    assert ours.oob_decision_function_.shape == (len(y), 2)
    np.testing.assert_allclose(ours.oob_decision_function_.sum(axis=1), 1.0)
    X, y = datasets.make_friedman1(n_samples=600, noise=1.0, random_state=0)
    ours = RandomForestRegressor(60, oob_score=True, random_state=0).fit(X, y)
    theirs = sk_ensemble.RandomForestRegressor(60, oob_score=True, random_state=0).fit(X, y)
    assert ours.oob_score_ == pytest.approx(theirs.oob_score_, abs=0.04)
    assert ours.oob_prediction_.shape == (600,)


def _same_forest(a, b):
    assert len(a.estimators_) == len(b.estimators_)
    for ta, tb in zip(a.estimators_, b.estimators_, strict=True):
        for name in ("children_left", "feature", "threshold", "value", "n_node_samples"):
            np.testing.assert_array_equal(getattr(ta.tree_, name), getattr(tb.tree_, name))


def test_same_random_state_same_forest_and_n_jobs_do_not_matter(monkeypatch):
    monkeypatch.setattr(bagging, "_MIN_PARALLEL_ROWS", 0)  # use processes even here
    X, y = datasets.load_wine(return_X_y=True)
    first = RandomForestClassifier(12, random_state=7).fit(X, y)
    _same_forest(first, RandomForestClassifier(12, random_state=7).fit(X, y))
    _same_forest(first, RandomForestClassifier(12, random_state=7, n_jobs=2).fit(X, y))
    monkeypatch.setattr(bagging, "_BATCH_ROWS", 1)  # one tree per batch
    _same_forest(first, RandomForestClassifier(12, random_state=7).fit(X, y))
    other = RandomForestClassifier(12, random_state=8).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


def test_progress_is_reported_after_every_tree(monkeypatch):
    monkeypatch.setattr(bagging, "_MIN_PARALLEL_ROWS", 0)
    X, y = datasets.load_iris(return_X_y=True)
    for n_jobs in (1, 2):
        calls = []
        forest = RandomForestClassifier(7, n_jobs=n_jobs, random_state=0)
        forest.fit(X, y, progress=lambda done, total, calls=calls: calls.append((done, total)))
        assert calls == [(i, 7) for i in range(1, 8)]


def test_fitted_attributes():
    X, y = datasets.load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    forest = RandomForestClassifier(10, random_state=0).fit(X, names[y])
    assert forest.classes_.dtype.kind == "U" and forest.n_classes_ == 3
    assert forest.n_features_in_ == 4
    assert all(isinstance(t, DecisionTreeClassifier) for t in forest.estimators_)
    assert all(t.max_features_ == 2 for t in forest.estimators_)
    proba = forest.predict_proba(X)
    np.testing.assert_allclose(proba, np.mean([t.predict_proba(X) for t in forest.estimators_], 0))
    assert forest.score(X, names[y]) > 0.95
    importances = forest.feature_importances_
    assert importances.sum() == pytest.approx(1.0)
    assert set(np.argsort(importances)[-2:]) == {2, 3}  # the petal measurements
    regressor = RandomForestRegressor(5, random_state=0).fit(X, y.astype(float))
    assert all(isinstance(t, DecisionTreeRegressor) for t in regressor.estimators_)


def test_bootstrap_options():
    X, y = datasets.load_wine(return_X_y=True)
    full = RandomForestClassifier(4, bootstrap=False, max_features=None).fit(X, y)
    # Without bootstrap or feature sampling every tree is the same exact tree.
    _same_forest_trees = [t.tree_.feature for t in full.estimators_]
    for features in _same_forest_trees[1:]:
        np.testing.assert_array_equal(features, _same_forest_trees[0])
    assert full.score(X, y) == 1.0
    small = RandomForestClassifier(3, max_samples=30, random_state=0).fit(X, y)
    assert all(t.tree_.n_node_samples[0] == 30 for t in small.estimators_)
    half = RandomForestClassifier(3, max_samples=0.5, random_state=0).fit(X, y)
    assert all(t.tree_.n_node_samples[0] == 89 for t in half.estimators_)


def test_sample_weight_and_nan():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    weights = np.where(y == 1, 1.0, 2.5)
    forest = RandomForestClassifier(20, random_state=0, oob_score=True)
    forest.fit(X, y, sample_weight=weights)
    assert forest.oob_score_ > 0.9
    assert forest.estimators_[0].tree_.weighted_n_node_samples[0] > len(y)


def test_unfitted_and_bad_input():
    with pytest.raises(NotFittedError):
        RandomForestClassifier().predict([[1.0]])
    with pytest.raises(NotFittedError):
        _ = RandomForestRegressor().feature_importances_
    X, y = datasets.load_iris(return_X_y=True)
    forest = RandomForestClassifier(2).fit(X, y)
    with pytest.raises(ValueError, match="4 features"):
        forest.predict(X[:, :3])
    with pytest.raises(ValueError, match="inconsistent"):
        RandomForestClassifier(2).fit(X, y[:-1])


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_estimators", 0),
        ("n_jobs", 0),
        ("max_samples", 0),
        ("max_samples", 1.5),
        ("max_features", "half"),
        ("criterion", "squared_error"),
        ("max_bins", 1),
    ],
)
def test_bad_parameters_name_themselves(param, value):
    X, y = datasets.load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=param):
        RandomForestClassifier(**{"n_estimators": 2, param: value}).fit(X, y)


def test_oob_requires_bootstrap():
    X, y = datasets.load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="bootstrap"):
        RandomForestClassifier(2, oob_score=True, bootstrap=False).fit(X, y)


def test_estimator_contract_and_persistable_state():
    forest = RandomForestRegressor(n_estimators=3, max_depth=2)
    assert forest.get_params()["max_features"] == 1.0
    X, y = datasets.load_diabetes(return_X_y=True)
    assert forest.fit(X, y) is forest
    for name, value in vars(forest).items():
        if name in forest.get_params():
            continue
        assert name.endswith("_"), name
        assert isinstance(value, np.ndarray | int | float | list), (name, type(value))
    forest.set_params(oob_score=True).fit(X, y)
    assert hasattr(forest, "oob_score_")
    forest.set_params(oob_score=False).fit(X, y)
    assert not hasattr(forest, "oob_score_")  # refitting discards the old fit
    RandomForestClassifier(), RandomForestRegressor()  # constructible without arguments
