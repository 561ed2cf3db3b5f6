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
        """Leaf index reached by each row of a validated float64 ``X``."""
        X = np.ascontiguousarray(X)
        return _descend(self, X, np.arange(X.shape[0]), np.zeros(X.shape[0], dtype=np.intp))

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


def _descend(tree, X, rows, node) -> np.ndarray:
    """Leaves reached by ``X[rows]`` starting from ``node`` (one entry per pair).

    All pairs descend together, one level per step, so the Python loop runs
    ``max_depth`` times whatever the number of rows (or trees, see
    ``forest_mean_value``). Leaves loop back to themselves, so pairs that arrive early
    can stay in the arrays; finished pairs are only dropped every few levels.
    """
    left, right = tree.children_left, tree.children_right
    is_leaf = left == TREE_LEAF
    ids = np.arange(len(left))
    # children[2 * i + go_right]: a leaf's children are itself, with a threshold that
    # sends every value (and NaN, which compares False) to its "left" self.
    children = np.stack([np.where(is_leaf, ids, left), np.where(is_leaf, ids, right)], 1)
    children = children.ravel()
    feature = np.where(is_leaf, 0, tree.feature)
    threshold = np.where(is_leaf, np.inf, tree.threshold)
    nan_right = (~tree.missing_go_to_left.astype(bool)) & ~is_leaf
    flat = X.ravel()
    width = X.shape[1]
    check_nan = bool(np.isnan(flat).any())
    out = node.copy()
    active = np.flatnonzero(~is_leaf[node])
    rows, node = rows[active], node[active]
    step = 0
    while len(active):
        x = flat[rows * width + feature[node]]
        go_right = x > threshold[node]
        if check_nan:
            missing = np.isnan(x)
            go_right[missing] = nan_right[node[missing]]
        node = children[2 * node + go_right]
        step += 1
        if step % 4 == 0 or len(active) < 1024:
            done = is_leaf[node]
            if done.any():
                out[active[done]] = node[done]
                keep = ~done
                active, rows, node = active[keep], rows[keep], node[keep]
    return out


def forest_mean_value(trees: list[Tree], X: np.ndarray, group_nodes: int = 65_536):
    """Mean over ``trees`` of the leaf values reached by each row of ``X``.

    Trees are taken in groups whose node arrays are concatenated into one table of
    about ``group_nodes`` nodes — small enough for the cache, since every step of the
    descent gathers from it at random — and every (tree, row) pair of a group descends
    in the same NumPy calls.
    """
    X = np.ascontiguousarray(X)
    n = X.shape[0]
    out = np.zeros((n, trees[0].value.shape[2]))
    group: list[Tree] = []
    for i, tree in enumerate(trees):
        group.append(tree)
        if (
            i + 1 == len(trees)
            or sum(t.node_count for t in group) + trees[i + 1].node_count > group_nodes
        ):
            out += _group_value_sum(group, X)
            group = []
    return out / len(trees)


def _group_value_sum(trees: list[Tree], X: np.ndarray, max_pairs: int = 1 << 20):
    sizes = np.array([t.node_count for t in trees])
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    pairs = list(zip(trees, offsets, strict=True))
    table = Tree(
        node_count=int(sizes.sum()),
        children_left=np.concatenate(
            [
                np.where(t.children_left == TREE_LEAF, TREE_LEAF, t.children_left + o)
                for t, o in pairs
            ]
        ),
        children_right=np.concatenate([t.children_right + o for t, o in pairs]),
        feature=np.concatenate([t.feature for t in trees]),
        threshold=np.concatenate([t.threshold for t in trees]),
        missing_go_to_left=np.concatenate([t.missing_go_to_left for t in trees]),
    )
    values = np.concatenate([t.value[:, 0] for t in trees])
    n = X.shape[0]
    total = np.zeros((n, values.shape[1]))
    step = max(1, max_pairs // len(trees))
    for start in range(0, n, step):
        chunk = np.arange(start, min(n, start + step))
        leaves = _descend(table, X, np.tile(chunk, len(trees)), np.repeat(offsets, len(chunk)))
        total[chunk] = values[leaves].reshape(len(trees), len(chunk), -1).sum(axis=0)
    return total
