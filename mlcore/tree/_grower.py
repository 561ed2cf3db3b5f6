"""Grow trees breadth-first: every round splits all open nodes at once.

Several trees (a batch of a forest's) grow together: their open nodes are just more
nodes of the same round, so the fixed cost of a round's NumPy calls is paid once per
batch instead of once per tree. The samples of open nodes are kept grouped by node in
one array (``samp``, with targets ``ys`` and weights ``ws`` alongside), large nodes
first, so each split engine sees contiguous runs. Pure, small or depth-limited nodes
leave the arrays as leaves, so a round costs O(samples still open).

With ``max_features < n_features`` each node draws its own features, as scikit-learn
does. The draws come from a counter-based generator keyed by (tree seed, node number in
its tree, round), so a tree is the same whichever batch or process grows it. Features
found constant in a node are remembered for its descendants and never drawn again
there; a node whose drawn features all fail stays open and draws again among the rest,
so — like scikit-learn — it only becomes a leaf when no feature can split it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._nodes import (
    NodeStore,
    assemble,
    can_split,
    child_stats,
    draw_features,
    impurity_decrease_ok,
    rank_within,
)
from ._sorter import sorted_splits
from ._splitter import SplitContext, hist_splits
from ._tree import Tree

# Nodes with fewer samples than max(_MIN_SMALL, _SORT_FACTOR × channels × mean bins per
# feature) are split by sorting rather than from histograms (measured on 200k × 20).
_SORT_FACTOR = 0.06
_MIN_SMALL = 16


@dataclass
class GrowParams:
    max_depth: int
    min_samples_split: int
    min_samples_leaf: int
    min_impurity_decrease: float
    max_features: int


@dataclass
class TreeTask:
    """One tree to grow: its training rows (repeats = integer weights), float weights
    aligned with ``rows`` or None, and the seed of its feature draws."""

    rows: np.ndarray
    weights: np.ndarray | None
    seed: int


def grow_trees(binned, criterion, y, tasks: list[TreeTask], params: GrowParams) -> list[Tree]:
    """Fit one tree per task on ``binned`` data; ``y`` holds class codes or targets."""
    return _Grower(binned, criterion, y, tasks, params).run()


class _Grower:
    """State of one batch of growing trees: the samples and the open nodes of a round."""

    def __init__(self, binned, criterion, y, tasks, params):
        self.binned, self.criterion, self.params = binned, criterion, params
        self.codes = binned.codes
        self.flat_codes = binned.codes.ravel()
        self.candidates = np.flatnonzero(binned.splittable)
        self.sampled = params.max_features < len(self.candidates)
        self.n_slots = params.max_features if self.sampled else len(self.candidates)
        self.ctx = SplitContext(binned, criterion, params.min_samples_leaf)
        widths = binned.hist_width[self.candidates]
        mean_width = float(widths.mean()) if len(widths) else 1.0
        self.small = max(_MIN_SMALL, int(_SORT_FACTOR * criterion.n_channels * mean_width))
        self.n_trees = len(tasks)
        self.seeds = np.array([t.seed for t in tasks], dtype=np.uint64)
        self.nodes = NodeStore()
        # Per-sample arrays, grouped by open node.
        counts = np.array([len(t.rows) for t in tasks], dtype=np.intp)
        self.samp = np.concatenate([np.asarray(t.rows, dtype=np.intp) for t in tasks])
        self.ws = None if tasks[0].weights is None else np.concatenate([t.weights for t in tasks])
        self.ys = y[self.samp]
        self.offset = 0  # where the engine currently called starts in ``samp``
        # The roots, then the open nodes: ids, sample counts, depth, tree, number in tree.
        tree_of = np.arange(self.n_trees)
        stats = child_stats(criterion, np.repeat(tree_of, counts), self.n_trees, self.ys, self.ws)
        imp = criterion.impurity(stats)
        depth = np.zeros(self.n_trees, dtype=np.intp)
        ids = self.nodes.add(stats, imp, depth, tree_of)
        self.tree_size = np.ones(self.n_trees, dtype=np.intp)
        is_open = can_split(criterion, stats, imp, depth, params) & (self.n_slots > 0)
        self._keep_samples(np.repeat(is_open, counts), None)
        self.open_ids, self.counts, self.depth, self.tree_of = (
            a[is_open] for a in (ids, counts, depth, tree_of)
        )
        self.local = np.zeros(len(self.open_ids), dtype=np.uint64)
        self.dead = None
        if self.sampled:
            self.dead = np.zeros((len(self.open_ids), binned.n_features), dtype=bool)

    def run(self) -> list[Tree]:
        round_ = 0
        while len(self.open_ids):
            round_ += 1
            self._round(round_)
        return assemble(self.nodes, self.criterion, self.binned.n_features, self.n_trees)

    def codes_of(self, feats, node_counts, lo, hi):
        """Bin codes (S, hi - lo) of samples ``lo:hi`` of the engine's range."""
        rows = self.samp[lo + self.offset : hi + self.offset]
        if feats.ndim == 1:
            if len(feats) == self.binned.n_features:
                return np.take(self.codes, rows, axis=1)
            return np.stack([self.codes[f].take(rows) for f in feats])
        # Per-node features: spread each node's offsets over its run of samples
        # (np.repeat is far cheaper than gathering per sample).
        index = np.repeat((feats * self.codes.shape[1]).T, node_counts, axis=1)
        index += rows
        return self.flat_codes.take(index)

    # -- one round ---------------------------------------------------------------------

    def _round(self, round_: int) -> None:
        q, counts = len(self.open_ids), self.counts
        if self.sampled:
            seeds = self.seeds[self.tree_of]
            feats = draw_features(
                seeds, self.local, round_, self.dead, self.binned.splittable, self.n_slots
            )
        else:
            feats = np.broadcast_to(self.candidates, (q, self.n_slots))
        # Large nodes come first: histograms for them, sorting for the rest.
        n_big = int(np.count_nonzero(counts >= self.small))
        m_big = int(counts[:n_big].sum())
        self.offset = 0
        big = hist_splits(self.ctx, self.codes_of, self.ys, self.ws, counts[:n_big], feats[:n_big])
        self.offset = m_big
        ws_small = None if self.ws is None else self.ws[m_big:]
        *small, constant = sorted_splits(
            self.ctx, self.codes_of, self.ys[m_big:], ws_small, counts[n_big:], feats[n_big:]
        )
        score, slot, code, next_code, nan_left, nan_seen, n_left = (
            np.concatenate([a, b]) for a, b in zip(big, small, strict=True)
        )
        found = score > -np.inf
        feature = feats[np.arange(q), slot]
        retry = self._update_dead(feats, found, constant, n_big)
        nan_goes_left = np.where(nan_seen, nan_left, n_left > counts - n_left)
        goes_left = self._goes_left(feature, code, nan_goes_left)
        child, stats, imp = self._children(found, goes_left)
        split = np.flatnonzero(found)
        child_depth = np.repeat(self.depth[split] + 1, 2)
        child_tree = np.repeat(self.tree_of[split], 2)
        child_ids = self.nodes.add(stats, imp, child_depth, child_tree)
        child_local = self.tree_size[child_tree] + rank_within(child_tree)
        self.tree_size += np.bincount(child_tree, minlength=self.n_trees)
        if len(split):
            threshold = self.binned.threshold_value(feature[split], code[split], next_code[split])
            self.nodes.split.append(
                (
                    self.open_ids[split],
                    feature[split],
                    threshold,
                    nan_goes_left[split],
                    child_ids[0::2],
                    child_ids[1::2],
                )
            )
        # Next round's open nodes: retried nodes, then splittable children.
        retried = np.flatnonzero(retry & ~found)
        opens = np.concatenate(
            [
                np.ones(len(retried), bool),
                can_split(self.criterion, stats, imp, child_depth, self.params),
            ]
        )
        next_counts = np.concatenate([counts[retried], stats[0].astype(np.intp)])
        order = np.flatnonzero(opens)
        order = order[np.argsort(next_counts[order] < self.small, kind="stable")]
        self._regroup(found, child, retried, order)
        self.open_ids = np.concatenate([self.open_ids[retried], child_ids])[order]
        self.depth = np.concatenate([self.depth[retried], child_depth])[order]
        self.tree_of = np.concatenate([self.tree_of[retried], child_tree])[order]
        self.local = np.concatenate([self.local[retried], child_local.astype(np.uint64)])[order]
        self.counts = next_counts[order]
        if self.sampled:
            parent = np.concatenate([retried, np.repeat(split, 2)])
            self.dead = self.dead[parent[order]]

    def _update_dead(self, feats, found, constant, n_big) -> np.ndarray:
        """Remember useless features per node; return the nodes that should draw again."""
        retry = np.zeros(len(found), dtype=bool)
        if not self.sampled:
            return retry
        dead = self.dead
        const_node, const_slot = np.nonzero(constant)
        const_node += n_big
        dead[const_node, feats[const_node, const_slot]] = True
        failed = np.flatnonzero(~found)
        if len(failed):
            dead[failed[:, None], feats[failed]] = True
            allowed = ~dead[failed] & self.binned.splittable[None, :]
            retry[failed[allowed.any(axis=1)]] = True
        return retry

    def _goes_left(self, feature, code, nan_goes_left) -> np.ndarray:
        """Whether each sample goes to the left child of its node's split."""
        counts, binned = self.counts, self.binned
        index = np.repeat(feature * self.codes.shape[1], counts) + self.samp
        sample_code = self.flat_codes.take(index)
        goes_left = sample_code <= np.repeat(code, counts)
        if binned.any_nan:
            nan_to_left = np.where(nan_goes_left, binned.nan_code[feature], -1)
            goes_left |= sample_code == np.repeat(nan_to_left, counts)
        return goes_left

    def _children(self, found, goes_left):
        """Child index of each sample (2 × split rank + side) and the children's stats.

        Splits failing ``min_impurity_decrease`` are undone (``found`` is updated).
        """
        counts, params = self.counts, self.params

        def child_of():
            return np.repeat(2 * (np.cumsum(found) - 1), counts) + ~goes_left

        child = child_of()
        in_split = np.repeat(found, counts)
        ws = None if self.ws is None else self.ws[in_split]
        stats = child_stats(
            self.criterion, child[in_split], 2 * int(found.sum()), self.ys[in_split], ws
        )
        imp = self.criterion.impurity(stats)
        if params.min_impurity_decrease > 0 and found.any():
            ok = impurity_decrease_ok(
                self.criterion,
                self.nodes,
                self.open_ids[found],
                stats,
                imp,
                params.min_impurity_decrease,
            )
            if not ok.all():
                found[np.flatnonzero(found)[~ok]] = False
                stats, imp = stats[:, np.repeat(ok, 2)], imp[np.repeat(ok, 2)]
                child = child_of()
        return np.where(np.repeat(found, counts), child, -1), stats, imp

    def _regroup(self, found, child, retried, order) -> None:
        """Keep the samples of next round's open nodes, grouped in ``order``."""
        new_index = np.full(len(retried) + 2 * int(found.sum()), -1, dtype=np.intp)
        new_index[order] = np.arange(len(order))
        source = np.full(len(found), -1, dtype=np.intp)  # retried node -> its slot
        source[retried] = np.arange(len(retried))
        sample_source = np.where(child >= 0, len(retried) + child, np.repeat(source, self.counts))
        keep = sample_source >= 0
        target = new_index[sample_source[keep]]
        keep[keep] = target >= 0
        self._keep_samples(keep, np.argsort(target[target >= 0], kind="stable"))

    def _keep_samples(self, keep, perm) -> None:
        for name in ("samp", "ys", "ws"):
            values = getattr(self, name)
            if values is not None:
                values = values[keep]
                setattr(self, name, values if perm is None else values[perm])
