"""Leaf bit vectors (``mlcore.tree._bitvector``): the same leaves as walking the trees, for
ties, NaN, infinities, one to four words of leaves and one-leaf trees; forests predict the
same either way (to rounding: the trees are summed in another order), and large or wide
trees are walked."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets

from mlcore.ensemble import RandomForestClassifier, RandomForestRegressor
from mlcore.tree import DecisionTreeRegressor, _bitvector
from mlcore.tree._bitvector import LeafBitvectors, worth_it
from mlcore.tree._predict import FlatTrees, flat_trees


def _walked(flat: FlatTrees, X) -> np.ndarray:
    """Each row's leaf in each tree by the level-by-level walk, shape (n_trees, n)."""
    n = X.shape[0]
    rows = np.tile(np.arange(n), flat.n_trees)
    roots = np.repeat(flat.offsets, n)
    return flat._descend(np.ascontiguousarray(X), rows, roots).reshape(flat.n_trees, n)


def _table(flat: FlatTrees) -> LeafBitvectors:
    assert len(flat.groups) == 1
    return LeafBitvectors(flat, 0, flat.n_trees, 0, flat.values[0])


def _bitvector_leaves(flat: FlatTrees, X) -> np.ndarray:
    out = np.empty((flat.n_trees, X.shape[0]), dtype=np.intp)
    _table(flat).leaves(np.ascontiguousarray(X), out)
    return out


def _regression(seed=0, n=400, features=5):
    X, y = datasets.make_regression(n_samples=n, n_features=features, random_state=seed)
    return X, y


@pytest.mark.parametrize(
    ("n", "depth", "words"),
    # 8 leaves; 64 (a word holds 63, so one leaf in the second); 108; 170; 229.
    [(400, 3, 1), (1000, 6, 2), (400, 7, 2), (400, 8, 3), (1000, 8, 4)],
)
def test_leaves_match_the_walk_with_one_to_four_words(n, depth, words):
    X, y = _regression(n=n)
    trees = [
        DecisionTreeRegressor(max_depth=depth, random_state=s).fit(X, y + s).tree_ for s in range(3)
    ]
    flat = FlatTrees(trees)
    assert _table(flat).words == words
    X_new = _regression(seed=1)[0]
    np.testing.assert_array_equal(_bitvector_leaves(flat, X_new), _walked(flat, X_new))


def test_values_equal_to_a_threshold_go_left_and_infinities_and_nan_go_their_way():
    X, y = _regression()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    trees = [DecisionTreeRegressor(random_state=s, max_depth=6).fit(X, y).tree_ for s in range(2)]
    flat = FlatTrees(trees)
    split = trees[0].children_left != -1
    ties = np.tile(trees[0].threshold[split][:, None], (1, X.shape[1]))
    special = np.array([[np.nan] * 5, [np.inf] * 5, [-np.inf] * 5, [np.nan, np.inf, 0, -1, 1]])
    X_new = np.vstack([X, ties, special])
    assert bool(trees[0].missing_go_to_left[split].all()) is False  # some NaN go right
    np.testing.assert_array_equal(_bitvector_leaves(flat, X_new), _walked(flat, X_new))


def test_one_hot_columns_sharing_tables_give_the_walks_leaves():
    """Nine 0/1 columns (one threshold each) share tables of up to 3**6 rows."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 2, size=(1200, 9)), rng.normal(size=(1200, 2))]) * 1.0
    y = X[:, :9] @ rng.normal(size=9) + X[:, 9] + rng.normal(size=1200) * 0.1
    trees = [DecisionTreeRegressor(max_depth=7, random_state=s).fit(X, y).tree_ for s in range(4)]
    flat = FlatTrees(trees)
    table = _table(flat)
    assert max(len(joint) for joint in table.joints) >= 5
    np.testing.assert_array_equal(_bitvector_leaves(flat, X), _walked(flat, X))
    X[rng.random(X.shape) < 0.05] = np.nan
    np.testing.assert_array_equal(_bitvector_leaves(flat, X), _walked(flat, X))


def test_one_leaf_trees_reach_their_root():
    X = np.arange(20.0).reshape(10, 2)
    trees = [DecisionTreeRegressor().fit(X, np.ones(10)).tree_ for _ in range(3)]
    flat = FlatTrees(trees)
    np.testing.assert_array_equal(
        _bitvector_leaves(flat, X), np.repeat(flat.offsets, 10).reshape(3, 10)
    )


@pytest.mark.parametrize("make", ["classifier", "regressor"])
def test_forests_predict_as_when_walked(make, monkeypatch):
    monkeypatch.setattr(_bitvector, "BLOCK_WORDS", 24)  # several blocks of each width
    X, y = datasets.make_classification(n_samples=1500, n_features=8, flip_y=0.2, random_state=0)
    X[np.random.default_rng(0).random(X.shape) < 0.05] = np.nan
    if make == "classifier":
        forest = RandomForestClassifier(n_estimators=40, max_depth=8, random_state=0).fit(X, y)
        predict = forest.predict_proba
    else:
        forest = RandomForestRegressor(n_estimators=40, max_depth=8, random_state=0)
        predict = forest.fit(X, y * 1.5).predict
    table = flat_trees(forest, [t.tree_ for t in forest.estimators_])
    blocks = table._bitvectors(0).blocks
    assert len(blocks) > 3
    assert all(block.leaf_class is None for block in blocks)  # leaves of mixed classes
    assert len({block.words for block in blocks}) > 1
    X_new = datasets.make_classification(n_samples=3000, n_features=8, random_state=1)[0]
    with_bitvectors = predict(X_new)
    table._bitvector_tables[0] = None
    np.testing.assert_allclose(predict(X_new), with_bitvectors, rtol=1e-13, atol=1e-15)


def test_fully_grown_classifiers_count_votes_and_predict_exactly_as_walked():
    X, y = datasets.make_classification(
        n_samples=400, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    table = flat_trees(forest, [t.tree_ for t in forest.estimators_])
    assert all(block.leaf_class is not None for block in table._bitvectors(0).blocks)
    X_new = datasets.make_classification(n_samples=2000, n_features=6, random_state=1)[0]
    votes = forest.predict_proba(X_new)
    table._bitvector_tables[0] = None
    np.testing.assert_array_equal(forest.predict_proba(X_new), votes)  # sums of 0s and 1s


def test_large_or_wide_trees_are_walked():
    assert worth_it(n_features_used=12, words=2, leaves=128)
    assert not worth_it(n_features_used=12, words=5, leaves=300)  # over four words
    assert not worth_it(n_features_used=200, words=1, leaves=64)  # too many features
    X, y = _regression(n=2000)
    deep = DecisionTreeRegressor(random_state=0).fit(X, y)  # one leaf per row
    assert deep.tree_.n_leaves > 256
    table = flat_trees(deep, [deep.tree_])
    assert table._bitvectors(0) is None
    small = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y)
    assert flat_trees(small, [small.tree_])._bitvectors(0) is not None


def test_trees_whose_tables_would_be_too_large_are_walked(monkeypatch):
    X, y = _regression(n=1000)
    forest = RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0).fit(X, y)
    table = flat_trees(forest, [t.tree_ for t in forest.estimators_])
    assert table._bitvectors(0).table_bytes > 0
    expected = forest.predict(X)
    monkeypatch.setattr(_bitvector, "MAX_TABLE_BYTES", table._bitvectors(0).table_bytes - 1)
    walked = RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0).fit(X, y)
    walked_table = flat_trees(walked, [t.tree_ for t in walked.estimators_])
    np.testing.assert_allclose(walked.predict(X), expected, rtol=1e-13)
    assert walked_table._bitvectors(0) is None


def test_a_row_alone_predicts_exactly_as_in_a_batch():
    X, y = datasets.make_classification(n_samples=800, n_features=8, random_state=0)
    forest = RandomForestClassifier(n_estimators=70, max_depth=7, random_state=0).fit(X, y)
    assert flat_trees(forest, [t.tree_ for t in forest.estimators_])._bitvectors(0) is not None
    batch = forest.predict_proba(X[:300])
    for i in (0, 1, 137, 299):
        np.testing.assert_array_equal(forest.predict_proba(X[i : i + 1])[0], batch[i])


def test_rows_ranked_a_slice_at_a_time_give_the_same_answer(monkeypatch):
    X, y = datasets.make_classification(n_samples=900, n_features=6, random_state=0)
    forest = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(X, y * 1.0)
    whole = forest.predict(X)
    monkeypatch.setattr(_bitvector, "_RANK_ROWS", 128)  # 900 rows in 8 slices, the last short
    np.testing.assert_array_equal(forest.predict(X), whole)
