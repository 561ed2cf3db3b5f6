"""Node bookkeeping for the grower: node storage, node statistics, the per-node feature
draws and the final per-tree ``Tree`` arrays."""

from __future__ import annotations

import numpy as np

from ._tree import TREE_LEAF, TREE_UNDEFINED, Tree


class NodeStore:
    """Per-node arrays of all trees of the batch, appended round by round."""

    def __init__(self):
        self.stats, self.impurity, self.depth, self.tree = [], [], [], []
        self.count = 0
        self.split = []  # (node ids, feature, threshold, nan_left, left ids, right ids)

    def add(self, stats, impurity, depth, tree) -> np.ndarray:
        ids = np.arange(self.count, self.count + stats.shape[1])
        self.stats.append(stats.astype(np.float64))
        self.impurity.append(impurity)
        # int32: these two live as long as the batch's nodes (8 bytes a node less).
        self.depth.append(depth.astype(np.int32))
        self.tree.append(tree.astype(np.int32))
        self.count += stats.shape[1]
        return ids


def rank_within(groups: np.ndarray) -> np.ndarray:
    """Position of each element among the earlier elements of its group."""
    if len(groups) == 0:
        return groups
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    ranks = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    out = np.empty_like(ranks)
    out[order] = ranks
    return out


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _uniform(seeds, local, round_: int, n_features: int) -> np.ndarray:
    """Uniform [0, 1) numbers of shape (q, n_features), a pure function of the keys.

    SplitMix64 finaliser over (seed, node number, round, feature); array arithmetic on
    uint64 wraps around silently, which is what the hash needs.
    """
    # Arrays throughout: NumPy warns about wrap-around in scalar operations only.
    key = seeds * _MIX[1] + local * _MIX[2] + np.full(1, round_, dtype=np.uint64) * _MIX[0]
    z = key[:, None] + (np.arange(1, n_features + 1, dtype=np.uint64) * _MIX[0])[None, :]
    z = (z ^ (z >> np.uint64(30))) * _MIX[1]
    z = (z ^ (z >> np.uint64(27))) * _MIX[2]
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def draw_features(seeds, local, round_, dead, splittable, n_slots):
    """Features examined at each open node, shape (q, n_slots)."""
    keys = _uniform(seeds, local, round_, len(splittable))
    # Features known useless at a node sort after all others.
    keys[dead | ~splittable[None, :]] += 2.0
    if n_slots * 4 < keys.shape[1]:
        picked = np.argpartition(keys, n_slots - 1, axis=1)[:, :n_slots]
        return np.take_along_axis(picked, np.argsort(np.take_along_axis(keys, picked, 1), 1), 1)
    return np.argsort(keys, axis=1)[:, :n_slots]


def child_stats(criterion, child, n_children, ys, ws) -> np.ndarray:
    """Channel sums per node (for regression plus a weighted sum of squares)."""
    n = np.bincount(child, minlength=n_children)
    if criterion.is_classification:
        k = criterion.n_classes
        per_class = np.bincount(child * k + ys, ws, minlength=n_children * k)
        return np.vstack([n, per_class.reshape(n_children, k).T])
    w = n if ws is None else np.bincount(child, ws, minlength=n_children)
    wy = ys if ws is None else ws * ys
    s = np.bincount(child, wy, minlength=n_children)
    ss = np.bincount(child, wy * ys, minlength=n_children)
    return np.vstack([n, w, s, ss]).astype(np.float64)


def can_split(criterion, stats, imp, depth, params) -> np.ndarray:
    """Whether new nodes may be split: big enough, shallow enough and impure."""
    n = stats[0]
    ok = (n >= params.min_samples_split) & (n >= 2 * params.min_samples_leaf)
    ok &= depth < params.max_depth
    if criterion.is_classification:
        weights = stats[1:]
        ok &= weights.max(axis=0) < weights.sum(axis=0)  # not pure
    else:
        mean_sq = stats[3] / np.where(stats[1] > 0, stats[1], 1.0)
        ok &= imp > 1e-14 * np.maximum(mean_sq, 1e-300)
    return ok


def impurity_decrease_ok(criterion, nodes, parent_ids, stats, imp, threshold) -> np.ndarray:
    """Whether each split (children in pairs) decreases impurity by ``threshold``."""
    all_stats = np.concatenate(nodes.stats, axis=1)
    all_imp = np.concatenate(nodes.impurity)
    trees = np.concatenate(nodes.tree)
    w_parent = criterion.node_weight(all_stats[:, parent_ids])
    w_root = criterion.node_weight(all_stats[:, trees[parent_ids]])  # roots come first
    w_child = criterion.node_weight(stats)
    child_term = (w_child * imp).reshape(-1, 2).sum(axis=1)
    decrease = (w_parent * all_imp[parent_ids] - child_term) / w_root
    return decrease + 1e-12 >= threshold


def assemble(nodes: NodeStore, criterion, n_features: int, n_trees: int) -> list[Tree]:
    """Split the batch's node arrays into one ``Tree`` per tree.

    The round-by-round lists are concatenated and dropped one at a time, and a lone
    tree keeps the batch arrays as they are: this step was the peak of a deep tree's
    fit (twice its node arrays, 2x scikit-learn's memory on 300,000 rows).
    """
    stats = _take_concatenated(nodes, "stats", axis=1)
    count = stats.shape[1]
    arrays = {
        "value": criterion.value(stats)[:, None, :],
        "n_node_samples": stats[0].astype(np.intp),
        "weighted_n_node_samples": criterion.node_weight(stats),
    }
    del stats  # before the split arrays: the stats are the largest of all
    arrays["impurity"] = _take_concatenated(nodes, "impurity")
    left = np.full(count, TREE_LEAF, dtype=np.intp)
    right = np.full(count, TREE_LEAF, dtype=np.intp)
    feature = np.full(count, TREE_UNDEFINED, dtype=np.intp)
    threshold = np.full(count, float(TREE_UNDEFINED))
    nan_left = np.zeros(count, dtype=np.uint8)
    for ids, f, thr, nl, lc, rc in nodes.split:
        feature[ids], threshold[ids], nan_left[ids] = f, thr, nl
        left[ids], right[ids] = lc, rc
    nodes.split = []
    arrays.update(
        children_left=left,
        children_right=right,
        feature=feature,
        threshold=threshold,
        missing_go_to_left=nan_left,
    )
    depth = _take_concatenated(nodes, "depth")
    tree = _take_concatenated(nodes, "tree")
    if n_trees == 1:
        return [Tree(count, int(depth.max()), n_features, **arrays)]
    # Each tree's nodes in creation order, renumbered from 0 (breadth-first).
    local = np.empty(count, dtype=np.intp)
    trees = []
    for t in range(n_trees):
        ids = np.flatnonzero(tree == t)
        local[ids] = np.arange(len(ids))
        own = {name: values[ids] for name, values in arrays.items()}
        lc, rc = own["children_left"], own["children_right"]
        inner = lc != TREE_LEAF
        lc[inner], rc[inner] = local[lc[inner]], local[rc[inner]]
        trees.append(Tree(len(ids), int(depth[ids].max()), n_features, **own))
    return trees


def _take_concatenated(nodes: NodeStore, name: str, axis: int = 0) -> np.ndarray:
    """One of the store's lists as one array; the list is emptied."""
    parts = getattr(nodes, name)
    out = np.concatenate(parts, axis=axis)
    parts.clear()
    return out
