"""export_text (against scikit-learn's) and tree_to_dict (the web app's JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import datasets
from sklearn import tree as sk_tree

from mlcore.base import NotFittedError
from mlcore.ensemble import RandomForestClassifier
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text, tree_to_dict


def _iris():
    data = datasets.load_iris()
    return data.data, data.target, list(data.feature_names), list(data.target_names)


def test_export_text_matches_sklearn_classifier():
    X, y, features, classes = _iris()
    # Petal width decides the first split for both libraries (no tie with length).
    X = X[:, [0, 1, 3]]
    features = [features[i] for i in (0, 1, 3)]
    ours = DecisionTreeClassifier(max_depth=3).fit(X, y)
    theirs = sk_tree.DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    for kwargs in ({}, {"max_depth": 1}, {"decimals": 4}):
        expected = sk_tree.export_text(
            theirs, feature_names=features, class_names=classes, **kwargs
        )
        assert export_text(ours, feature_names=features, class_names=classes, **kwargs) == expected


def test_export_text_matches_sklearn_regressor_and_default_names():
    X, y = datasets.load_diabetes(return_X_y=True)
    ours = DecisionTreeRegressor(max_depth=2).fit(X, y)
    theirs = sk_tree.DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, y)
    names = [f"feature_{i}" for i in range(X.shape[1])]
    assert export_text(ours) == sk_tree.export_text(theirs, feature_names=names)


def test_export_text_single_leaf_and_missing_only_split():
    X = np.zeros((4, 1))
    assert export_text(DecisionTreeClassifier().fit(X, [1, 1, 1, 1])) == "|--- class: 1\n"
    X = np.array([[1.0], [2.0], [np.nan], [np.nan]])
    text = export_text(DecisionTreeClassifier().fit(X, [0, 0, 1, 1]), feature_names=["age"])
    assert text.splitlines()[0] == "|--- age is not missing"
    assert text.splitlines()[2] == "|--- age is missing"


def test_tree_to_dict_is_json_and_mirrors_tree_arrays():
    X, y, features, classes = _iris()
    model = DecisionTreeClassifier(max_depth=4).fit(X, y)
    root = tree_to_dict(model, feature_names=features, class_names=classes)
    assert json.loads(json.dumps(root)) == root
    t = model.tree_
    seen, stack = 0, [root]
    while stack:
        node = stack.pop()
        seen += 1
        i = node["node_id"]
        assert node["samples"] == t.n_node_samples[i]
        assert node["impurity"] == pytest.approx(t.impurity[i])
        assert sum(node["value"]) == pytest.approx(1.0)
        assert node["class"] == classes[int(np.argmax(t.value[i, 0]))]
        if t.children_left[i] == -1:
            assert node["children"] == [] and "rule" not in node
            continue
        assert node["feature"] == features[t.feature[i]]
        assert node["threshold"] == pytest.approx(t.threshold[i])
        assert node["rule"].startswith(f"{node['feature']} <= ")
        left, right = node["children"]
        assert (left["node_id"], right["node_id"]) == (t.children_left[i], t.children_right[i])
        assert left["samples"] + right["samples"] == node["samples"]
        assert left["depth"] == node["depth"] + 1
        stack += node["children"]
    assert seen == t.node_count


def test_tree_to_dict_truncation_labels_and_infinite_threshold():
    X, y, _, _ = _iris()
    model = DecisionTreeClassifier().fit(X, np.array(["a", "b", "c"])[y])
    root = tree_to_dict(model, max_depth=1)
    assert root["feature"] == "feature_2"
    assert all(child.get("truncated") or not child["children"] for child in root["children"])
    assert root["children"][0]["class"] == "a"
    X = np.array([[1.0], [2.0], [np.nan], [np.nan]])
    missing = tree_to_dict(DecisionTreeClassifier().fit(X, [0, 0, 1, 1]))
    assert missing["threshold"] is None and missing["rule"] == "feature_0 is not missing"
    json.dumps(missing, allow_nan=False)


def test_tree_to_dict_regressor_and_forest_member():
    X, y = datasets.load_diabetes(return_X_y=True)
    root = tree_to_dict(DecisionTreeRegressor(max_depth=2).fit(X, y))
    assert root["prediction"] == pytest.approx(y.mean())
    assert "class" not in root
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y > 150)
    member = tree_to_dict(forest.estimators_[0], max_depth=2)
    assert member["class"] in (False, True)
    json.dumps(member, allow_nan=False)


def test_export_errors():
    with pytest.raises(NotFittedError):
        export_text(DecisionTreeClassifier())
    X, y, _, _ = _iris()
    model = DecisionTreeClassifier(max_depth=1).fit(X, y)
    with pytest.raises(ValueError, match="feature_names"):
        export_text(model, feature_names=["a"])
    with pytest.raises(ValueError, match="class_names"):
        tree_to_dict(model, class_names=["a"])
    with pytest.raises(ValueError, match="max_depth"):
        tree_to_dict(model, max_depth=-1)
