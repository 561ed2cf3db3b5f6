"""Prediction: many (tree, row) pairs walk down their trees together, one level per step.

The node arrays of all trees are packed once into a ``FlatTrees`` table, which is kept
per fitted estimator (``flat_trees``), so a predict call only descends; main rebuilt
the combined table of a forest on every call.

One step for the pairs still walking is seven NumPy calls: one 16-byte gather of the
node (threshold; left child and feature packed in one integer), the feature's bits, the
row's index and value (a gather from the flat ``X``), the comparison, and
``left + go_right`` (siblings are adjacent, as the grower makes them). Leaves point at
themselves with an infinite threshold, so finished pairs can stay in the arrays; they
are dropped every few steps. The step's arrays are preallocated and reused (``out=``).
On a 300,000-row tree (600,000 nodes) the packed gather made the walk 10-15% faster
than three gathers from separate arrays, and the table 26 bytes a node instead of 42.
"""

from __future__ import annotations

import operator
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _bitvector
from ._tree import TREE_LEAF, Tree

# Trees are walked in groups of about this many nodes: every step gathers from the group's
# node arrays at random, which stay in the cache when the group is small.
_GROUP_NODES = 65_536
# (tree, row) pairs walked together: the step's buffers (33 bytes a pair) should stay in
# the cache. 100 small trees (163 nodes) on 10,000 rows: 69 ms at 2**17, 121-165 ms at
# 2**19; a 200,000-row tree and a 100-tree forest of 50,000 rows: alike within 5%.
_MAX_PAIRS = 1 << 17
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
        or not all(map(operator.is_, cached[0], trees))
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
    nodes : ndarray of shape (n_nodes, 2), dtype int64
        Per node, the bits of its threshold (``inf`` at leaves) and its left child
        shifted left by ``feature_bits``, or-ed with its feature (``0`` at leaves). The
        right child follows the left one; a leaf's left child is itself. One 16-byte
        gather per step instead of three: a 300,000-row tree's table is far larger than
        the cache, and each gather then costs a memory access.
    nan_right, is_leaf : ndarray of shape (n_nodes,), dtype bool
        Whether NaN goes right (never at leaves); whether the node is a leaf.
    groups : list of (first tree, end tree)
    values : list of ndarray
        The node values of each group's trees, shape (group's nodes, n_values): a lone
        tree's own array, not a copy. (Rows, not one array per value: in a large tree
        each gather misses the cache, and one miss fetches all of a node's values.)
    """

    def __init__(self, trees: list[Tree]):
        renumbered = [_adjacent_siblings(t) for t in trees]
        trees = [t for t, _ in renumbered]
        # Node numbers in their own tree, for apply(), when some tree was renumbered.
        self._node_id = None
        if any(ids is not None for _, ids in renumbered):
            self._node_id = np.concatenate(
                [np.arange(t.node_count) if ids is None else ids for t, ids in renumbered]
            )
        sizes = np.array([t.node_count for t in trees], dtype=np.intp)
        self.offsets = np.cumsum(sizes) - sizes
        n_features = max((t.n_features for t in trees), default=1)
        self.feature_bits = max(1, int(n_features - 1).bit_length())
        left = np.concatenate([t.children_left for t in trees])
        is_leaf = left == TREE_LEAF
        left += np.repeat(self.offsets, sizes)
        left[is_leaf] = np.flatnonzero(is_leaf)
        self.nodes = np.empty((len(left), 2), dtype=np.int64)
        left <<= self.feature_bits
        left |= np.where(is_leaf, 0, np.concatenate([t.feature for t in trees]))
        self.nodes[:, 1] = left
        del left
        threshold = np.concatenate([t.threshold for t in trees])
        threshold[is_leaf] = np.inf
        self.nodes[:, 0] = threshold.view(np.int64)
        del threshold
        missing_left = np.concatenate([t.missing_go_to_left for t in trees]).astype(bool)
        self.nan_right = ~missing_left & ~is_leaf
        self.is_leaf = is_leaf
        self._leaf_class = None
        self.groups = []
        first, nodes = 0, 0
        for i, size in enumerate(sizes):
            if i > first and nodes + size > _GROUP_NODES:
                self.groups.append((first, i))
                first, nodes = i, 0
            nodes += size
        self.groups.append((first, len(trees)))
        self.values = []
        for a, b in self.groups:
            if b - a == 1:  # a view: large trees are not copied
                self.values.append(trees[a].value[:, 0])
            else:
                self.values.append(np.concatenate([t.value[:, 0] for t in trees[a:b]]))
        self._bitvector_tables = {}

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
                if self._node_id is None:
                    out[a:b, start:stop] = leaves - self.offsets[a:b, None]
                else:
                    out[a:b, start:stop] = self._node_id[leaves]
        return out

    def predict_class(self, X: np.ndarray) -> np.ndarray:
        """Index of the largest value of the leaf reached by each row (one tree)."""
        if self._leaf_class is None:
            self._leaf_class = np.argmax(self.values[0], axis=1)
        X = np.ascontiguousarray(X)
        out = np.empty(X.shape[0], dtype=np.intp)
        for start, stop in _row_chunks(X.shape[0], 1):
            rows = np.arange(start, stop)
            out[start:stop] = self._descend(X, rows, np.zeros(len(rows), np.intp))
        return self._leaf_class.take(out)

    def mean_value(self, X: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        """Mean over the trees of the leaf values reached by each row,
        shape (n_samples, n_values).

        With ``n_jobs > 1`` groups of trees are walked in threads (NumPy releases the
        GIL in the calls that take the time); partial sums are added in group order,
        so the result does not depend on ``n_jobs``.
        """
        X = np.ascontiguousarray(X)
        n = X.shape[0]
        total = np.zeros((n, self.values[0].shape[1]))
        if n_jobs > 1 and len(self.groups) > 1 and n * self.n_trees >= _MIN_THREADED_PAIRS:
            with ThreadPoolExecutor(min(n_jobs, len(self.groups))) as pool:
                for part in pool.map(lambda g: self._group_sum(X, g), range(len(self.groups))):
                    total += part
        else:
            for g in range(len(self.groups)):
                total += self._group_sum(X, g)
        total /= self.n_trees
        return total

    def _group_sum(self, X, g: int) -> np.ndarray:
        (a, b), group_values = self.groups[g], self.values[g]
        bitvectors = self._bitvectors(g)
        if bitvectors is not None:
            return bitvectors.value_sums(X)
        n = X.shape[0]
        total = np.zeros((n, group_values.shape[1]))
        for start, stop in _row_chunks(n, b - a):
            rows = np.tile(np.arange(start, stop), b - a)
            roots = np.repeat(self.offsets[a:b], stop - start)
            leaves = self._descend(X, rows, roots)
            leaves -= self.offsets[a]
            values = group_values.take(leaves, axis=0).reshape(b - a, stop - start, -1)
            total[start:stop] = values.sum(axis=0)
        return total

    def _bitvectors(self, g: int):
        """The group's ``LeafBitvectors``, built on first use; None when walking the
        trees is cheaper or the tables would be too large. (Stored once built: two
        threads may both build it, and neither ever sees half a table.)"""
        if g not in self._bitvector_tables:
            a, b = self.groups[g]
            lo, hi = self.offsets[a], self.offsets[b] if b < self.n_trees else len(self.nodes)
            leaves = int(np.add.reduceat(self.is_leaf[lo:hi], self.offsets[a:b] - lo).max())
            words = _bitvector.words_for(leaves)
            inner = ~self.is_leaf[lo:hi]
            features = np.unique(self.nodes[lo:hi, 1][inner] & ((1 << self.feature_bits) - 1))
            table = None
            if _bitvector.worth_it(len(features), words, leaves):
                table = _bitvector.LeafBitvectors(self, a, b, lo, self.values[g])
            self._bitvector_tables[g] = table if table is not None and table.blocks else None
        return self._bitvector_tables[g]

    def split_arrays(self):
        """Per node: its left child (itself at leaves; the right child is the next node),
        its feature and its threshold (``inf`` at leaves)."""
        packed = self.nodes[:, 1]
        left = packed >> self.feature_bits
        feature = packed & ((1 << self.feature_bits) - 1)
        return left, feature, self.nodes[:, 0].view(np.float64)

    def _descend(self, X, rows, node) -> np.ndarray:
        """Leaves reached by ``X[rows]`` from the nodes ``node`` (one entry per pair)."""
        flat = X.ravel()
        m = len(rows)
        base = rows * X.shape[1]
        # NaN propagates through min: one pass and no boolean array.
        check_nan = flat.size > 0 and bool(np.isnan(flat.min()))
        nodes, bits, mask = self.nodes, self.feature_bits, (1 << self.feature_bits) - 1
        out = node.copy()
        node = node.copy()
        active = np.arange(m)
        step = 0
        record_buf, index_buf = np.empty((m, 2), np.int64), np.empty(m, np.intp)
        x_buf, right_buf = np.empty(m), np.empty(m, dtype=bool)
        while m:
            record = nodes.take(node, axis=0, out=record_buf[:m], mode="clip")
            packed = record[:, 1]
            index = np.bitwise_and(packed, mask, out=index_buf[:m])
            index += base
            x = flat.take(index, out=x_buf[:m], mode="clip")
            go_right = np.greater(x, record[:, 0].view(np.float64), out=right_buf[:m])
            if check_nan:
                go_right |= np.isnan(x) & self.nan_right[node]
            np.right_shift(packed, bits, out=node)
            node += go_right
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
    original number of each node of the copy (None for ``tree`` itself)."""
    left, right = tree.children_left, tree.children_right
    inner = left != TREE_LEAF
    if np.array_equal(right[inner], left[inner] + 1):
        return tree, None
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
