"""Prediction: many (tree, row) pairs walk down their trees together, one level per step.

The node arrays of all trees are concatenated once into a ``FlatTrees`` table, which the
estimators keep (``flat_trees``) next to their fitted state, so a predict call only
descends: rebuilding a 100-tree forest's table on every call cost a third of its
``predict_proba`` time on 10,000 rows.

One step for the pairs still walking is seven NumPy calls: the node's feature, the
row's value (a gather from the flat ``X``), the node's threshold, the comparison, the
left child, and ``left + go_right`` (siblings are adjacent in the table, as the grower
makes them). Leaves point at themselves with an infinite threshold, so finished pairs
can stay in the arrays; they are dropped every few steps. The step's arrays are
preallocated and reused (``out=``): allocating and faulting in fresh 8 MB arrays every
step cost about a quarter of the time.
"""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._tree import TREE_LEAF, Tree

# Trees are walked in groups of about this many nodes: every step gathers from the group's
# node arrays at random, which stay in the cache when the group is small.
_GROUP_NODES = 65_536
# (tree, row) pairs walked together; bounds the step buffers (about 40 bytes a pair).
_MAX_PAIRS = 1 << 19
# Below this many (tree, row) pairs, threads cost more than they save.
_MIN_THREADED_PAIRS = 200_000
# Steps between two removals of finished pairs (leaves sit 19 levels deep on average in
# the 200,000-row benchmark tree; 8 to 12 measured 10% faster than 4, 2 slower).
_COMPACT_EVERY = 8
# Estimator -> (its trees, their table). Kept beside the estimator rather than in it, so
# its attributes stay the persisted fitted state; dropped with the estimator.
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def flat_trees(owner, trees: list[Tree]) -> FlatTrees:
    """The table of ``trees`` for ``owner`` (a fitted estimator), built on first use.

    A refit (or a load) gives the owner new ``Tree`` objects, which builds a new table.
    """
    cached = _TABLES.get(owner)
    if (
        cached is None
        or len(cached[0]) != len(trees)
        or any(a is not b for a, b in zip(cached[0], trees, strict=True))
    ):
        cached = (list(trees), FlatTrees(trees))
        _TABLES[owner] = cached
    return cached[1]


class FlatTrees:
    """The node arrays of several trees, concatenated, for prediction.

    Parameters
    ----------
    trees : list of Tree

    Attributes
    ----------
    offsets : ndarray of shape (n_trees,)
        Index of each tree's root in the table.
    node_id : ndarray of shape (n_nodes,)
        Each node's number in its own tree.
    left : ndarray of shape (n_nodes,)
        Left child of each node (its right child follows it); a leaf's is itself.
    feature, threshold : ndarray of shape (n_nodes,)
        ``0`` and ``inf`` at leaves.
    nan_right, is_leaf : ndarray of shape (n_nodes,), dtype bool
        Whether NaN goes right (never at leaves); whether the node is a leaf.
    value : ndarray of shape (n_nodes, n_values)
    groups : list of (first tree, end tree)
    """

    def __init__(self, trees: list[Tree]):
        renumbered = [_adjacent_siblings(t) for t in trees]
        trees = [t for t, _ in renumbered]
        # Each node's number in its own tree, which apply() answers with.
        self.node_id = np.concatenate([ids for _, ids in renumbered])
        sizes = np.array([t.node_count for t in trees], dtype=np.intp)
        self.offsets = np.cumsum(sizes) - sizes
        left = np.concatenate([t.children_left for t in trees])
        is_leaf = left == TREE_LEAF
        left = left + np.repeat(self.offsets, sizes)
        self.left = np.where(is_leaf, np.arange(len(left)), left)
        self.feature = np.where(is_leaf, 0, np.concatenate([t.feature for t in trees]))
        self.threshold = np.where(is_leaf, np.inf, np.concatenate([t.threshold for t in trees]))
        missing_left = np.concatenate([t.missing_go_to_left for t in trees]).astype(bool)
        self.nan_right = ~missing_left & ~is_leaf
        self.is_leaf = is_leaf
        self._leaf_class = None
        self.value = np.concatenate([t.value[:, 0] for t in trees])
        self.groups = []
        first, nodes = 0, 0
        for i, size in enumerate(sizes):
            if i > first and nodes + size > _GROUP_NODES:
                self.groups.append((first, i))
                first, nodes = i, 0
            nodes += size
        self.groups.append((first, len(trees)))

    @property
    def n_trees(self) -> int:
        return len(self.offsets)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Leaf reached in each tree by each row, shape (n_trees, n_samples), numbered
        within each tree."""
        X = np.ascontiguousarray(X)
        n = X.shape[0]
        out = np.empty((self.n_trees, n), dtype=np.intp)
        for a, b in self.groups:
            for start, stop in _row_chunks(n, b - a):
                rows = np.tile(np.arange(start, stop), b - a)
                roots = np.repeat(self.offsets[a:b], stop - start)
                leaves = self._descend(X, rows, roots).reshape(b - a, stop - start)
                out[a:b, start:stop] = self.node_id[leaves]
        return out

    def predict_class(self, X: np.ndarray) -> np.ndarray:
        """Index of the largest value of the leaf reached by each row (one tree)."""
        if self._leaf_class is None:
            self._leaf_class = np.argmax(self.value, axis=1)
        X = np.ascontiguousarray(X)
        n = X.shape[0]
        return self._leaf_class.take(self._descend(X, np.arange(n), np.zeros(n, np.intp)))

    def mean_value(self, X: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        """Mean over the trees of the leaf values reached by each row,
        shape (n_samples, n_values).

        With ``n_jobs > 1`` groups of trees are walked in threads (NumPy releases the
        GIL in the calls that take the time); partial sums are added in group order,
        so the result does not depend on ``n_jobs``.
        """
        X = np.ascontiguousarray(X)
        n = X.shape[0]
        total = np.zeros((n, self.value.shape[1]))
        if n_jobs > 1 and len(self.groups) > 1 and n * self.n_trees >= _MIN_THREADED_PAIRS:
            with ThreadPoolExecutor(min(n_jobs, len(self.groups))) as pool:
                for part in pool.map(lambda group: self._group_sum(X, *group), self.groups):
                    total += part
        else:
            for a, b in self.groups:
                total += self._group_sum(X, a, b)
        total /= self.n_trees
        return total

    def _group_sum(self, X, a: int, b: int) -> np.ndarray:
        n = X.shape[0]
        total = np.zeros((n, self.value.shape[1]))
        for start, stop in _row_chunks(n, b - a):
            rows = np.tile(np.arange(start, stop), b - a)
            roots = np.repeat(self.offsets[a:b], stop - start)
            leaves = self._descend(X, rows, roots)
            values = self.value.take(leaves, axis=0).reshape(b - a, stop - start, -1)
            total[start:stop] = values.sum(axis=0)
        return total

    def _descend(self, X, rows, node) -> np.ndarray:
        """Leaves reached by ``X[rows]`` from the nodes ``node`` (one entry per pair)."""
        flat = X.ravel()
        m = len(rows)
        base = rows * X.shape[1]
        check_nan = bool(np.isnan(flat).any())
        left, feature, threshold = self.left, self.feature, self.threshold
        out = node.copy()
        node = node.copy()
        active = np.arange(m)
        index_buf, x_buf, thr_buf = np.empty(m, np.intp), np.empty(m), np.empty(m)
        right_buf = np.empty(m, dtype=bool)
        step = 0
        while m:
            index = feature.take(node, out=index_buf[:m], mode="clip")
            index += base
            x = flat.take(index, out=x_buf[:m], mode="clip")
            thr = threshold.take(node, out=thr_buf[:m], mode="clip")
            go_right = np.greater(x, thr, out=right_buf[:m])
            if check_nan:
                go_right |= np.isnan(x) & self.nan_right[node]
            child = left.take(node, out=index_buf[:m], mode="clip")
            np.add(child, go_right, out=node)
            step += 1
            if step % _COMPACT_EVERY == 0 or m < 1024:
                done = self.is_leaf.take(node, mode="clip")
                if done.any():
                    out[active[done]] = node[done]
                    keep = ~done
                    active, base, node = active[keep], base[keep], node[keep]
                    m = len(active)
        return out


def _row_chunks(n: int, n_trees: int):
    step = max(1, _MAX_PAIRS // max(n_trees, 1))
    for start in range(0, n, step):
        yield start, min(n, start + step)


def _adjacent_siblings(tree: Tree):
    """``tree`` itself when every right child directly follows its sibling (as the grower
    numbers them), else a copy renumbered breadth-first so that it does; and the
    original number of each node."""
    left, right = tree.children_left, tree.children_right
    inner = left != TREE_LEAF
    if np.array_equal(right[inner], left[inner] + 1):
        return tree, np.arange(tree.node_count)
    order = [np.array([0])]
    frontier = order[0]
    while len(frontier):
        frontier = frontier[inner[frontier]]
        frontier = np.stack([left[frontier], right[frontier]], axis=1).ravel()
        order.append(frontier)
    order = np.concatenate(order)
    new_id = np.empty(tree.node_count, dtype=np.intp)
    new_id[order] = np.arange(len(order))
    arrays = {name: getattr(tree, name)[order] for name in Tree._ARRAYS}
    for name in ("children_left", "children_right"):
        kids = arrays[name]
        arrays[name] = np.where(kids == TREE_LEAF, TREE_LEAF, new_id[np.maximum(kids, 0)])
    return Tree(len(order), tree.max_depth, tree.n_features, **arrays), order
