"""Prediction tables (``mlcore.tree._predict``): kept per estimator, rebuilt on refit and
load, the same answers whatever the threads; model files saved before them still load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn import datasets

from mlcore import persistence
from mlcore.ensemble import RandomForestClassifier, RandomForestRegressor
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor, Tree
from mlcore.tree._predict import FlatTrees, flat_trees

FIXTURES = Path(__file__).parent / "fixtures"


def _data(seed=0, n=600):
    X, y = datasets.make_classification(n_samples=n, n_features=6, random_state=seed)
    X[np.random.default_rng(seed).random(X.shape) < 0.05] = np.nan
    return X, y


def _walk(tree: Tree, x) -> int:
    """The leaf of one row, one node at a time (the reference)."""
    node = 0
    while tree.children_left[node] != -1:
        value = x[tree.feature[node]]
        if np.isnan(value):
            left = bool(tree.missing_go_to_left[node])
        else:
            left = value <= tree.threshold[node]
        node = tree.children_left[node] if left else tree.children_right[node]
    return node


def test_apply_matches_a_row_by_row_walk():
    X, y = _data()
    model = DecisionTreeClassifier(random_state=0).fit(X, y)
    expected = [_walk(model.tree_, x) for x in X]
    np.testing.assert_array_equal(model.apply(X), expected)
    np.testing.assert_array_equal(model.tree_.apply(X), expected)


def test_table_is_kept_and_rebuilt_on_refit():
    X, y = _data()
    X2, y2 = _data(seed=1)
    forest = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    first = forest.predict_proba(X)
    table = flat_trees(forest, [t.tree_ for t in forest.estimators_])
    assert flat_trees(forest, [t.tree_ for t in forest.estimators_]) is table
    np.testing.assert_array_equal(forest.predict_proba(X), first)  # cached: same answer
    forest.fit(X2, y2)
    fresh = RandomForestClassifier(n_estimators=4, random_state=0).fit(X2, y2)
    np.testing.assert_array_equal(forest.predict_proba(X), fresh.predict_proba(X))
    assert not any(name.startswith("_flat") for name in vars(forest))  # not fitted state


def test_threads_give_the_same_answer(monkeypatch):
    import mlcore.tree._predict as predict

    monkeypatch.setattr(predict, "_GROUP_NODES", 50)  # many groups
    monkeypatch.setattr(predict, "_MIN_THREADED_PAIRS", 0)
    X, y = _data()
    serial = RandomForestRegressor(n_estimators=6, random_state=0).fit(X, y.astype(float))
    threaded = RandomForestRegressor(n_estimators=6, random_state=0, n_jobs=2).fit(X, y * 1.0)
    assert len(flat_trees(threaded, [t.tree_ for t in threaded.estimators_]).groups) > 1
    np.testing.assert_array_equal(threaded.predict(X), serial.predict(X))
    expected = np.mean([t.predict(X) for t in serial.estimators_], axis=0)
    np.testing.assert_allclose(serial.predict(X), expected)


def test_trees_with_siblings_apart_are_renumbered():
    """A tree numbered depth-first (right child not next to the left one) predicts the
    same as when walked node by node."""
    X, y = _data()
    tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y).tree_
    order, stack = [], [0]
    while stack:  # depth-first numbering
        node = stack.pop()
        order.append(node)
        if tree.children_left[node] != -1:
            stack += [tree.children_right[node], tree.children_left[node]]
    new_id = np.empty(tree.node_count, dtype=np.intp)
    new_id[order] = np.arange(tree.node_count)
    arrays = {name: getattr(tree, name)[order] for name in Tree._ARRAYS}
    for name in ("children_left", "children_right"):
        kids = arrays[name]
        arrays[name] = np.where(kids == -1, -1, new_id[np.maximum(kids, 0)])
    dfs = Tree(tree.node_count, tree.max_depth, tree.n_features, **arrays)
    assert not np.array_equal(
        dfs.children_right[dfs.children_left != -1], dfs.children_left[dfs.children_left != -1] + 1
    )
    expected = [_walk(dfs, x) for x in X]
    np.testing.assert_array_equal(dfs.apply(X), expected)
    np.testing.assert_array_equal(FlatTrees([dfs]).mean_value(X)[:, 0], dfs.value[expected, 0, 0])


@pytest.mark.parametrize("name", ["forest_classifier", "forest_regressor", "tree_regressor"])
def test_files_saved_by_the_previous_version_load_and_predict_the_same(name):
    """Saved by main's code before issue 13 (tree code as at a86bd69: 255-bin
    regressors), from a subprocess with ``PYTHONPATH`` on that checkout."""
    saved = persistence.load(FIXTURES / f"{name}.npz")
    X_new, expected = saved.metadata["X_new"], saved.metadata["expected"]
    model = saved.model
    out = model.predict_proba(X_new) if hasattr(model, "predict_proba") else model.predict(X_new)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    if hasattr(model, "estimators_"):
        assert model.max_bins == 255  # its own parameters, not today's defaults


def test_loaded_model_predicts_as_the_fitted_one(tmp_path):
    X, y = _data()
    forest = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, y * 1.0)
    expected = forest.predict(X)
    persistence.save(forest, tmp_path / "m.npz")
    np.testing.assert_array_equal(persistence.load(tmp_path / "m.npz").model.predict(X), expected)
