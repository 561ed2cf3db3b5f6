"""The fitted tree structure: parallel node arrays, as scikit-learn's ``tree_``."""

from __future__ import annotations

import numpy as np

TREE_LEAF = -1
TREE_UNDEFINED = -2


class Tree:
    """Array representation of a binary decision tree.

    Node ``i`` is a leaf when ``children_left[i] == -1``. At a split node a sample goes
    left when ``x[feature[i]] <= threshold[i]``; NaN goes left when
    ``missing_go_to_left[i]`` is set. Nodes are numbered breadth-first (the root is 0).

    Attributes
    ----------
    node_count : int
    max_depth : int
    n_features : int
    children_left, children_right : ndarray of shape (node_count,), dtype intp
    feature : ndarray of shape (node_count,), dtype intp
        ``-2`` at leaves.
    threshold : ndarray of shape (node_count,)
        ``-2.0`` at leaves; ``inf`` when only NaN goes right.
    missing_go_to_left : ndarray of shape (node_count,), dtype uint8
    value : ndarray of shape (node_count, 1, n_classes) or (node_count, 1, 1)
        Class proportions (classifier) or mean target (regressor) at each node.
    impurity : ndarray of shape (node_count,)
    n_node_samples : ndarray of shape (node_count,), dtype intp
        Training samples reaching the node (a bootstrap sample counts its repeats).
    weighted_n_node_samples : ndarray of shape (node_count,)
    """

    _ARRAYS = (
        "children_left",
        "children_right",
        "feature",
        "threshold",
        "missing_go_to_left",
        "value",
        "impurity",
        "n_node_samples",
        "weighted_n_node_samples",
    )

    def __init__(self, node_count=0, max_depth=0, n_features=0, **arrays):
        self.node_count = int(node_count)
        self.max_depth = int(max_depth)
        self.n_features = int(n_features)
        for name in self._ARRAYS:
            setattr(self, name, arrays.pop(name, np.empty(0)))
        if arrays:
            raise TypeError(f"Unknown Tree attributes: {sorted(arrays)}")

    def __repr__(self) -> str:
        return f"Tree(node_count={self.node_count}, max_depth={self.max_depth})"

    @property
    def n_leaves(self) -> int:
        return int(np.count_nonzero(self.children_left == TREE_LEAF))

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Leaf index reached by each row of a validated float64 ``X``.

        Builds the descent table on every call; estimators keep theirs
        (``_predict.flat_trees``).
        """
        from ._predict import FlatTrees

        return FlatTrees([self]).apply(X)[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Value of the leaf reached by each row, shape (n_samples, n_outputs_columns)."""
        return self.value[self.apply(X), 0]

    def compute_feature_importances(self, normalize: bool = True) -> np.ndarray:
        """Total weighted impurity decrease brought by each feature."""
        importances = np.zeros(self.n_features)
        split = np.flatnonzero(self.children_left != TREE_LEAF)
        if len(split):
            left, right = self.children_left[split], self.children_right[split]
            w, imp = self.weighted_n_node_samples, self.impurity
            decrease = w[split] * imp[split] - w[left] * imp[left] - w[right] * imp[right]
            decrease = np.maximum(decrease, 0.0)  # rounding must not make it negative
            np.add.at(importances, self.feature[split], decrease)
            importances /= w[0]
        total = importances.sum()
        if normalize and total > 0:
            importances /= total
        return importances
