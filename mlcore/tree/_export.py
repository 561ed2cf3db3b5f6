"""Render a fitted decision tree as text rules or as a JSON-able nested dict."""

from __future__ import annotations

import numpy as np

from ..base import check_is_fitted
from ._tree import TREE_LEAF


def _resolve(estimator, feature_names, class_names):
    check_is_fitted(estimator, "tree_")
    tree = estimator.tree_
    if feature_names is None:
        names = getattr(estimator, "feature_names_in_", None)
        feature_names = (
            [str(n) for n in names]
            if names is not None
            else [f"feature_{i}" for i in range(tree.n_features)]
        )
    else:
        feature_names = [str(n) for n in feature_names]
        if len(feature_names) != tree.n_features:
            raise ValueError(
                f"feature_names has {len(feature_names)} names; the tree has "
                f"{tree.n_features} features."
            )
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        if class_names is None:
            class_names = [_plain(c) for c in classes]
        elif len(class_names) != len(classes):
            raise ValueError(
                f"class_names has {len(class_names)} names; the tree has {len(classes)} classes."
            )
        else:
            class_names = list(class_names)
    return tree, feature_names, class_names


def _plain(value):
    """A numpy scalar as the equivalent Python value (JSON-able)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_max_depth(max_depth):
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 0):
        raise ValueError(f"max_depth must be None or a non-negative integer, got {max_depth!r}.")


def export_text(decision_tree, feature_names=None, class_names=None, max_depth=None, decimals=2):
    """Readable if/else rules of a fitted tree, in scikit-learn's ``export_text`` style.

    Parameters
    ----------
    decision_tree : DecisionTreeClassifier or DecisionTreeRegressor
        A fitted tree (for example one of a forest's ``estimators_``).
    feature_names : list of str, optional
        Defaults to ``feature_names_in_`` when fitted on a DataFrame, else
        ``feature_0``, ``feature_1``, ...
    class_names : list of str, optional
        Defaults to ``classes_``.
    max_depth : int, optional
        Splits deeper than this are summarised as ``truncated branch of depth d``
        (scikit-learn's convention: ``max_depth=0`` still shows the root's split).
    decimals : int, default=2
        Digits shown after the decimal point.

    Returns
    -------
    text : str
    """
    _check_max_depth(max_depth)
    tree, feature_names, class_names = _resolve(decision_tree, feature_names, class_names)
    lines = []
    stack = [(0, 0, None)]  # (node, depth, rule leading to it)
    while stack:
        node, depth, rule = stack.pop()
        if rule is not None:
            lines.append("|   " * (depth - 1) + "|--- " + rule)
        indent = "|   " * depth + "|--- "
        if tree.children_left[node] == TREE_LEAF:
            lines.append(indent + _leaf_text(tree, node, class_names, decimals))
            continue
        if max_depth is not None and depth > max_depth:
            lines.append(indent + f"truncated branch of depth {_subtree_depth(tree, node)}")
            continue
        name = feature_names[tree.feature[node]]
        threshold = tree.threshold[node]
        if np.isinf(threshold):
            left_rule, right_rule = f"{name} is not missing", f"{name} is missing"
        else:
            left_rule = f"{name} <= {threshold:.{decimals}f}"
            right_rule = f"{name} >  {threshold:.{decimals}f}"
        stack.append((tree.children_right[node], depth + 1, right_rule))
        stack.append((tree.children_left[node], depth + 1, left_rule))
    return "\n".join(lines) + "\n"


def _leaf_text(tree, node, class_names, decimals) -> str:
    value = tree.value[node, 0]
    if class_names is not None:
        return f"class: {class_names[int(np.argmax(value))]}"
    return f"value: [{value[0]:.{decimals}f}]"


def _subtree_depth(tree, node) -> int:
    """Levels of nodes below and including ``node`` (scikit-learn's count)."""
    depth, frontier = 1, [node]
    while True:
        inner = [n for n in frontier if tree.children_left[n] != TREE_LEAF]
        if not inner:
            return depth
        depth += 1
        frontier = [c for n in inner for c in (tree.children_left[n], tree.children_right[n])]


def tree_to_dict(decision_tree, feature_names=None, class_names=None, max_depth=None) -> dict:
    """The fitted tree as nested dicts of plain Python values (for ``json.dumps``).

    Every node has ``node_id``, ``depth``, ``samples``, ``weighted_samples``,
    ``impurity``, ``value`` (class proportions, or ``[mean]`` for a regressor), ``class``
    (classifier) or ``prediction`` (regressor) and ``children`` (empty for a leaf).
    A split node also has ``feature``, ``feature_index``, ``threshold`` (None when only
    missing values go right), ``rule`` (the test; samples passing it go to the first
    child) and ``missing_go_to_left``. Nodes cut off by ``max_depth`` have
    ``truncated: True`` and no children.

    Parameters
    ----------
    decision_tree : DecisionTreeClassifier or DecisionTreeRegressor
    feature_names, class_names :
        As for ``export_text``.
    max_depth : int, optional
        Nodes at this depth are not expanded (``max_depth=0``: the root alone).

    Returns
    -------
    tree : dict
    """
    _check_max_depth(max_depth)
    tree, feature_names, class_names = _resolve(decision_tree, feature_names, class_names)
    root = _node_dict(tree, 0, 0, feature_names, class_names)
    stack = [(root, 0)]
    while stack:
        record, node = stack.pop()
        if tree.children_left[node] == TREE_LEAF:
            continue
        if max_depth is not None and record["depth"] >= max_depth:
            record["truncated"] = True
            continue
        feature = int(tree.feature[node])
        threshold = float(tree.threshold[node])
        name = feature_names[feature]
        finite = bool(np.isfinite(threshold))
        record.update(
            feature=name,
            feature_index=feature,
            threshold=threshold if finite else None,
            rule=f"{name} <= {threshold:.4g}" if finite else f"{name} is not missing",
            missing_go_to_left=bool(tree.missing_go_to_left[node]),
        )
        record["children"] = record.pop("children")  # keep children last for readers
        for child in (tree.children_left[node], tree.children_right[node]):
            child_record = _node_dict(
                tree, int(child), record["depth"] + 1, feature_names, class_names
            )
            record["children"].append(child_record)
            stack.append((child_record, int(child)))
    return root


def _node_dict(tree, node, depth, feature_names, class_names) -> dict:
    value = [float(v) for v in tree.value[node, 0]]
    record = {
        "node_id": node,
        "depth": depth,
        "samples": int(tree.n_node_samples[node]),
        "weighted_samples": float(tree.weighted_n_node_samples[node]),
        "impurity": float(tree.impurity[node]),
        "value": value,
    }
    if class_names is not None:
        record["class"] = class_names[int(np.argmax(value))]
    else:
        record["prediction"] = value[0]
    record["children"] = []
    return record
