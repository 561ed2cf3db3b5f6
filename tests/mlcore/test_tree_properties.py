"""Hypothesis property tests: invariants every fitted tree must satisfy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.ensemble import RandomForestClassifier
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def datasets(draw, regression=False):
    n = draw(st.integers(1, 60))
    p = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Few distinct values make ties, duplicates and constant features likely.
    levels = draw(st.sampled_from([2, 3, 10, 1000]))
    X = rng.integers(0, levels, size=(n, p)).astype(float)
    if draw(st.booleans()):
        X[rng.random(X.shape) < draw(st.sampled_from([0.1, 0.5, 1.0]))] = np.nan
    if regression:
        y = rng.normal(size=n) + np.nan_to_num(X[:, 0])
    else:
        y = rng.integers(0, draw(st.integers(1, 4)), size=n)
    return X, y


params = st.fixed_dictionaries(
    {
        "max_depth": st.one_of(st.none(), st.integers(1, 6)),
        "min_samples_leaf": st.integers(1, 5),
        "min_samples_split": st.integers(2, 10),
        "max_features": st.one_of(st.none(), st.integers(1, 4)),
    }
)


def _check_structure(model, X, params):
    t = model.tree_
    leaves = t.children_left == -1
    inner = np.flatnonzero(~leaves)
    if params["max_depth"] is not None:
        assert model.get_depth() <= params["max_depth"]
    # Every leaf but a lone root is a child of a split that respected the limit.
    assert (t.n_node_samples[1:][leaves[1:]] >= params["min_samples_leaf"]).all()
    assert (t.n_node_samples[inner] >= params["min_samples_split"]).all()
    np.testing.assert_array_equal(
        t.n_node_samples[inner],
        t.n_node_samples[t.children_left[inner]] + t.n_node_samples[t.children_right[inner]],
    )
    applied = model.apply(X)
    assert leaves[applied].all()
    # The thresholds route every training sample where the grower put it.
    np.testing.assert_array_equal(
        np.bincount(applied, minlength=t.node_count)[leaves], t.n_node_samples[leaves]
    )
    # Normalised to 1, or all zero when no split decreased the impurity.
    importances = model.feature_importances_
    assert (importances >= 0).all()
    assert abs(importances.sum() - 1.0) < 1e-9 or importances.sum() == 0.0
    if len(inner) == 0:
        assert importances.sum() == 0.0
    return applied


@SETTINGS
@given(data=datasets(), params=params, criterion=st.sampled_from(["gini", "entropy"]))
def test_classifier_invariants(data, params, criterion):
    X, y = data
    params = {**params, "max_features": _clip(params["max_features"], X)}
    model = DecisionTreeClassifier(criterion=criterion, random_state=0, **params).fit(X, y)
    applied = _check_structure(model, X, params)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    # Leaf values are the class frequencies of the training samples reaching them.
    for leaf in np.unique(applied):
        counts = np.bincount(
            np.searchsorted(model.classes_, y[applied == leaf]), minlength=len(model.classes_)
        )
        np.testing.assert_allclose(model.tree_.value[leaf, 0], counts / counts.sum())


@SETTINGS
@given(data=datasets(regression=True), params=params)
def test_regressor_invariants(data, params):
    X, y = data
    params = {**params, "max_features": _clip(params["max_features"], X)}
    model = DecisionTreeRegressor(random_state=0, **params).fit(X, y)
    applied = _check_structure(model, X, params)
    prediction = model.predict(X)
    for leaf in np.unique(applied):
        np.testing.assert_allclose(prediction[applied == leaf], y[applied == leaf].mean())


@settings(max_examples=15, deadline=None)
@given(data=datasets(), seed=st.integers(0, 1000))
def test_forest_probabilities_are_the_mean_of_its_trees(data, seed):
    X, y = data
    forest = RandomForestClassifier(n_estimators=3, random_state=seed).fit(X, y)
    proba = forest.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    expected = np.mean([tree.predict_proba(X) for tree in forest.estimators_], axis=0)
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_array_equal(forest.predict(X), forest.classes_[proba.argmax(axis=1)])


def _clip(max_features, X):
    return None if max_features is None else min(max_features, X.shape[1])
