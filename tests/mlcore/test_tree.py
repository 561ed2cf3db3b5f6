"""mlcore decision trees against scikit-learn (the oracle) and their own invariants."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets
from sklearn import tree as sk_tree
from sklearn.model_selection import train_test_split

import mlcore.tree._grower as grower
from mlcore.base import NotFittedError
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor, Tree

LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}


def _split(name):
    X, y = LOADERS[name](return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def _tie_free_classification(n=400, seed=0):
    """Continuous features with few enough distinct values for exact thresholds."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 5)), 2)
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] + 0.3 * rng.normal(size=n) > 0.4).astype(int)
    return X, y


def _assert_structure_equal(ours, theirs, tol=1e-5):
    """Same splits (features, partitions) node by node, walking both trees together."""
    a, b = ours.tree_, theirs.tree_
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        assert (a.children_left[i] == -1) == (b.children_left[j] == -1)
        assert a.n_node_samples[i] == b.n_node_samples[j]
        assert a.impurity[i] == pytest.approx(b.impurity[j], abs=1e-9)
        if a.children_left[i] == -1:
            continue
        assert a.feature[i] == b.feature[j]
        # scikit-learn stores float32 thresholds.
        assert a.threshold[i] == pytest.approx(b.threshold[j], abs=tol)
        stack += [
            (a.children_left[i], b.children_left[j]),
            (a.children_right[i], b.children_right[j]),
        ]


# -- agreement with scikit-learn ---------------------------------------------------------


@pytest.mark.parametrize("name", list(LOADERS))
def test_unlimited_tree_fits_training_data_and_generalises_like_sklearn(name):
    X_train, X_test, y_train, y_test = _split(name)
    ours = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
    theirs = sk_tree.DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
    assert ours.score(X_train, y_train) == theirs.score(X_train, y_train) == 1.0
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.06


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_same_tree_as_sklearn_when_thresholds_are_exact(criterion):
    X, y = _tie_free_classification()
    ours = DecisionTreeClassifier(criterion=criterion, max_depth=4).fit(X, y)
    theirs = sk_tree.DecisionTreeClassifier(criterion=criterion, max_depth=4, random_state=0)
    _assert_structure_equal(ours, theirs.fit(X, y))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))


def test_same_regression_tree_as_sklearn_when_thresholds_are_exact():
    rng = np.random.default_rng(1)
    X = np.round(rng.uniform(-2, 2, size=(500, 4)) * 50) / 50  # 201 distinct values
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.normal(size=500)
    ours = DecisionTreeRegressor(max_depth=5).fit(X, y)
    theirs = sk_tree.DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y)
    _assert_structure_equal(ours, theirs)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X))


def test_regression_r2_comparable_to_sklearn():
    X, y = datasets.make_friedman1(n_samples=3000, noise=0.5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    for depth in (4, 8, None):
        ours = DecisionTreeRegressor(max_depth=depth).fit(X_train, y_train)
        theirs = sk_tree.DecisionTreeRegressor(max_depth=depth, random_state=0)
        theirs.fit(X_train, y_train)
        assert ours.score(X_test, y_test) == pytest.approx(theirs.score(X_test, y_test), abs=0.05)
    assert DecisionTreeRegressor().fit(X_train, y_train).score(X_train, y_train) == 1.0


def test_binned_features_reach_sklearn_accuracy():
    X, y = datasets.make_classification(
        n_samples=20_000, n_features=10, n_informative=6, n_classes=3, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    for depth in (6, None):
        ours = DecisionTreeClassifier(max_depth=depth).fit(X_train, y_train)
        theirs = sk_tree.DecisionTreeClassifier(max_depth=depth, random_state=0)
        theirs.fit(X_train, y_train)
        assert ours.score(X_test, y_test) == pytest.approx(theirs.score(X_test, y_test), abs=0.02)


def test_histogram_and_sorting_engines_grow_the_same_tree(monkeypatch):
    X, y = datasets.make_classification(n_samples=3000, n_features=8, random_state=1)
    y3 = y + (X[:, 2] > 0.5)
    for criterion in ("gini", "entropy"):
        trees = []
        for small in (0, 10**9):  # every node by histograms, then every node by sorting
            monkeypatch.setattr(grower, "_MIN_SMALL", small)
            monkeypatch.setattr(grower, "_SORT_FACTOR", 0.0)
            trees.append(DecisionTreeClassifier(criterion=criterion, max_depth=6).fit(X, y3))
        if criterion == "gini":  # integer arithmetic in both engines: identical scores
            _assert_structure_equal(*trees, tol=0)
        else:  # float sums in another order may break exact ties another way
            np.testing.assert_allclose(trees[0].predict_proba(X), trees[1].predict_proba(X))
    X_nan = X.copy()
    X_nan[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    trees, regressors = [], []
    for small in (0, 10**9):
        monkeypatch.setattr(grower, "_MIN_SMALL", small)
        trees.append(DecisionTreeClassifier(criterion="entropy").fit(X_nan, y))
        # 255 bins: with more, histograms zoom (coarser than sorting in large nodes).
        model = DecisionTreeRegressor(max_depth=8, max_bins=255)
        regressors.append(model.fit(X_nan, X[:, 0] + y))
    _assert_structure_equal(*trees, tol=0)
    # Float sums in another order may break exact ties between features differently,
    # but never change the partition of the training data.
    np.testing.assert_allclose(regressors[0].predict(X_nan), regressors[1].predict(X_nan))


def test_max_features_draws_per_split_and_is_reproducible():
    X, y = _split("digits")[0], _split("digits")[2]
    a = DecisionTreeClassifier(max_features="sqrt", random_state=3).fit(X, y)
    b = DecisionTreeClassifier(max_features="sqrt", random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.tree_.feature, b.tree_.feature)
    np.testing.assert_array_equal(a.tree_.threshold, b.tree_.threshold)
    assert a.max_features_ == 8
    assert a.score(X, y) == 1.0  # draws again until a feature can split
    used = np.unique(a.tree_.feature[a.tree_.feature >= 0])
    assert len(used) > 20


# -- structural invariants ---------------------------------------------------------------


def test_depth_and_leaf_size_limits_are_respected():
    X, y = _split("breast_cancer")[0], _split("breast_cancer")[2]
    model = DecisionTreeClassifier(max_depth=3).fit(X, y)
    assert model.get_depth() == model.tree_.max_depth == 3
    t = DecisionTreeClassifier(min_samples_leaf=7, min_samples_split=20).fit(X, y).tree_
    leaves = t.children_left == -1
    assert t.n_node_samples[leaves].min() >= 7
    assert t.n_node_samples[~leaves].min() >= 20
    parents = np.flatnonzero(~leaves)
    np.testing.assert_array_equal(
        t.n_node_samples[parents],
        t.n_node_samples[t.children_left[parents]] + t.n_node_samples[t.children_right[parents]],
    )


def test_tree_arrays_are_consistent_with_predictions():
    X_train, X_test, y_train, _ = _split("wine")
    model = DecisionTreeClassifier(max_depth=4).fit(X_train, y_train)
    t = model.tree_
    assert isinstance(t, Tree)
    assert t.node_count == len(t.children_left) == len(t.value) == len(t.impurity)
    assert t.value.shape == (t.node_count, 1, 3)
    leaves = model.apply(X_test)
    assert (t.children_left[leaves] == -1).all()
    assert model.get_n_leaves() == int((t.children_left == -1).sum())
    np.testing.assert_array_equal(
        np.bincount(model.apply(X_train), minlength=t.node_count)[t.children_left == -1],
        t.n_node_samples[t.children_left == -1],
    )
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X_test), model.classes_[proba.argmax(axis=1)])


def test_feature_importances_sum_to_one_and_match_sklearn():
    X_train, _, y_train, _ = _split("breast_cancer")
    ours = DecisionTreeClassifier(max_depth=3).fit(X_train, y_train)
    theirs = sk_tree.DecisionTreeClassifier(max_depth=3, random_state=0).fit(X_train, y_train)
    assert ours.feature_importances_.sum() == pytest.approx(1.0)
    assert np.argmax(ours.feature_importances_) == np.argmax(theirs.feature_importances_)
    single = DecisionTreeClassifier().fit(X_train, np.zeros(len(X_train)))
    np.testing.assert_array_equal(single.feature_importances_, np.zeros(X_train.shape[1]))


# -- missing values ------------------------------------------------------------------------


def test_nan_carrying_the_signal_is_used():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = rng.integers(0, 2, 600)
    X[y == 1, 1] = np.nan  # only missingness tells the classes apart
    model = DecisionTreeClassifier(max_depth=1).fit(X, y)
    assert model.tree_.feature[0] == 1
    assert np.isinf(model.tree_.threshold[0])
    assert model.score(X, y) == 1.0
    X_new = rng.normal(size=(5, 3))
    X_new[:2, 1] = np.nan
    np.testing.assert_array_equal(model.predict(X_new), [1, 1, 0, 0, 0])


def test_nan_goes_to_the_side_that_gains_most():
    rng = np.random.default_rng(1)
    X = np.round(rng.uniform(size=(1000, 1)), 2)  # exact thresholds
    y = (X[:, 0] > 0.5).astype(int)
    X[rng.random(1000) < 0.2, 0] = np.nan
    y[np.isnan(X[:, 0])] = 1  # missing values belong with the high values
    model = DecisionTreeClassifier(max_depth=1).fit(X, y)
    assert model.tree_.missing_go_to_left[0] == 0
    assert model.tree_.threshold[0] == pytest.approx(0.5, abs=0.01)
    y[np.isnan(X[:, 0])] = 0  # now with the low values, on the left
    model = DecisionTreeClassifier(max_depth=1).fit(X, y)
    assert model.tree_.missing_go_to_left[0] == 1
    assert model.score(X, y) == 1.0


def test_unseen_nan_goes_to_the_larger_child():
    X, y = _split("iris")[0], _split("iris")[2]
    t = DecisionTreeClassifier().fit(X, y).tree_
    parents = np.flatnonzero(t.children_left != -1)
    larger_left = (
        t.n_node_samples[t.children_left[parents]] > t.n_node_samples[t.children_right[parents]]
    )
    np.testing.assert_array_equal(t.missing_go_to_left[parents].astype(bool), larger_left)


def test_nan_data_accuracy_comparable_to_sklearn():
    X_train, X_test, y_train, y_test = _split("breast_cancer")
    rng = np.random.default_rng(0)
    for X in (X_train, X_test):
        X[rng.random(X.shape) < 0.15] = np.nan
    ours = DecisionTreeClassifier(max_depth=5).fit(X_train, y_train)
    theirs = sk_tree.DecisionTreeClassifier(max_depth=5, random_state=0).fit(X_train, y_train)
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.05
    assert ours.score(X_train, y_train) == pytest.approx(theirs.score(X_train, y_train), abs=0.03)


def test_infinity_is_rejected():
    X = np.array([[0.0], [1.0], [np.inf]])
    with pytest.raises(ValueError, match="infinity"):
        DecisionTreeClassifier().fit(X, [0, 1, 1])
    model = DecisionTreeClassifier().fit(X[:2], [0, 1])
    with pytest.raises(ValueError, match="infinity"):
        model.predict(X)


# -- weights ---------------------------------------------------------------------------------


def test_integer_weights_equal_repeated_rows():
    X_train, _, y_train, _ = _split("wine")
    weights = np.random.default_rng(0).integers(0, 4, len(y_train))
    weighted = DecisionTreeClassifier().fit(X_train, y_train, sample_weight=weights)
    repeated = DecisionTreeClassifier().fit(
        np.repeat(X_train, weights, axis=0), np.repeat(y_train, weights)
    )
    _assert_structure_equal(weighted, repeated, tol=0)


def test_fractional_weights_match_sklearn():
    X, y = _tie_free_classification(seed=3)
    weights = np.random.default_rng(1).uniform(0.1, 3.0, len(y))
    weights[:20] = 0.0
    ours = DecisionTreeClassifier(max_depth=3).fit(X, y, sample_weight=weights)
    theirs = sk_tree.DecisionTreeClassifier(max_depth=3, random_state=0)
    theirs.fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))
    np.testing.assert_allclose(
        ours.tree_.weighted_n_node_samples[0], theirs.tree_.weighted_n_node_samples[0]
    )
    regressor = DecisionTreeRegressor(max_depth=3).fit(X, X[:, 0] * 2 + y, sample_weight=weights)
    sk_regressor = sk_tree.DecisionTreeRegressor(max_depth=3, random_state=0)
    sk_regressor.fit(X, X[:, 0] * 2 + y, sample_weight=weights)
    np.testing.assert_allclose(regressor.predict(X), sk_regressor.predict(X))


# -- labels, validation and the estimator contract -----------------------------------------


def test_string_and_object_labels():
    X = np.arange(12, dtype=float).reshape(-1, 1)
    y = np.array(["cat", "dog", "emu"] * 4, dtype=object)
    model = DecisionTreeClassifier().fit(X, y)
    assert model.classes_.dtype.kind == "U"
    assert list(model.classes_) == ["cat", "dog", "emu"]
    assert list(model.predict(X[:3])) == ["cat", "dog", "emu"]


def test_single_class_predicts_it_with_certainty():
    X = np.random.default_rng(0).normal(size=(10, 2))
    model = DecisionTreeClassifier().fit(X, ["only"] * 10)
    assert model.get_n_leaves() == 1 and model.get_depth() == 0
    assert list(model.predict(X[:2])) == ["only", "only"]
    np.testing.assert_array_equal(model.predict_proba(X[:2]), [[1.0], [1.0]])


def test_unfitted_use_raises_not_fitted():
    model = DecisionTreeClassifier()
    for call in (lambda: model.predict([[0.0]]), lambda: model.apply([[0.0]]), model.get_depth):
        with pytest.raises(NotFittedError):
            call()
    with pytest.raises(NotFittedError):
        _ = DecisionTreeRegressor().feature_importances_


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros((0, 2)), [], "0 sample"),
        (np.zeros(4), [0, 1, 0, 1], "2-D"),
        (np.zeros((4, 2)), [0, 1, 0], "inconsistent"),
        (np.zeros((4, 2)), np.zeros((4, 2)), "1-D"),
        ([["a", "b"], ["c", "d"]], [0, 1], "numbers"),
    ],
)
def test_bad_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        DecisionTreeClassifier().fit(X, y)


def test_wrong_width_at_predict():
    model = DecisionTreeRegressor().fit(np.zeros((4, 3)), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="3 features"):
        model.predict(np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("criterion", "mse"),
        ("max_depth", 0),
        ("max_depth", 2.5),
        ("min_samples_split", 1),
        ("min_samples_split", 1.5),
        ("min_samples_leaf", 0),
        ("max_features", "all"),
        ("max_features", 0),
        ("max_features", 99),
        ("min_impurity_decrease", -1.0),
        ("max_bins", 70_000),
    ],
)
def test_bad_parameters_name_themselves(param, value):
    X, y = np.arange(8.0).reshape(4, 2), [0, 1, 0, 1]
    with pytest.raises(ValueError, match=param):
        DecisionTreeClassifier(**{param: value}).fit(X, y)


def test_bad_sample_weight():
    X, y = np.arange(8.0).reshape(4, 2), [0, 1, 0, 1]
    for weights, match in (([1, 1], "shape"), ([1, -1, 1, 1], "non-negative"), ([0] * 4, "sum")):
        with pytest.raises(ValueError, match=match):
            DecisionTreeClassifier().fit(X, y, sample_weight=weights)


def test_regressor_rejects_non_numeric_or_nan_targets():
    X = np.zeros((3, 1))
    with pytest.raises(ValueError, match="numeric"):
        DecisionTreeRegressor().fit(X, ["a", "b", "c"])
    with pytest.raises(ValueError, match="NaN"):
        DecisionTreeRegressor().fit(X, [1.0, np.nan, 2.0])


def test_estimator_contract():
    model = DecisionTreeClassifier(max_depth=2, criterion="entropy")
    assert model.get_params()["max_depth"] == 2
    assert "max_depth=2" in repr(model)
    X, y = _split("iris")[0], _split("iris")[2]
    assert model.fit(X, y) is model
    first = model.tree_
    model.set_params(max_depth=1).fit(X[:, :2], y)
    assert model.tree_ is not first and model.n_features_in_ == 2
    assert model.get_depth() == 1
    DecisionTreeClassifier(), DecisionTreeRegressor(), Tree()  # constructible without args


def test_fitted_state_is_persistable():
    """Only ``_``-suffixed attributes of plain types (the persistence contract)."""
    import pandas as pd

    X, y = _split("iris")[0], _split("iris")[2]
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = DecisionTreeClassifier(max_depth=3).fit(frame, y.astype(str))
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "d"])
    for name, value in vars(model).items():
        if name in model.get_params():
            continue
        assert name.endswith("_"), name
        assert isinstance(value, np.ndarray | int | str | Tree), (name, type(value))
        if isinstance(value, np.ndarray):
            assert value.dtype.kind in "biufU"
    for name, value in vars(model.tree_).items():
        assert isinstance(value, np.ndarray | int), name
        if isinstance(value, np.ndarray):
            assert value.dtype.kind in "biuf"
