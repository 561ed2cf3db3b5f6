"""Prediction by leaf bit vectors, for blocks of small trees (QuickScorer: Lucchese et al.,
"QuickScorer: a fast algorithm to rank documents with additive ensembles of regression
trees", SIGIR 2015).

A tree's leaves are numbered left to right, one bit each. A split node that sends a row
right rules out every leaf of its left subtree: its mask is all ones but those bits. The
leaf a row reaches is the leftmost leaf left standing once the masks of all the nodes that
send it right are and-ed together, whatever the order.

The nodes that send a row right on feature ``f`` are those whose threshold is below the
row's value. So each feature has a table whose row ``k`` is the and of the masks of the
nodes with a threshold below the feature's ``k``-th distinct one (one column per tree),
one ``searchsorted`` gives a row's ``k``, and a row's leaves in all the block's trees are
the and of one table row per feature; NaN picks an extra row, the and of the masks of the
nodes that send NaN right. Features with few thresholds (one-hot columns have one) share
a table indexed by their ranks together. The leftmost standing bit is a count of
trailing zeros. A 64-bit word holds 63 leaves: its top bit stays clear, so
``x ^ (x - 1)`` (the bits up to the lowest set one) counts 64 only for a word with no
leaf standing.

Per (row, tree) this costs a gather and an and per table and word instead of seven NumPy
calls per level walked. ``bench.predict``'s forest (100 trees of 71 leaves on average,
19 features of which 11 one-hot), 10,000 rows: 14 ms, against 87 ms walking and
scikit-learn's 20 ms. The cost grows with the features and the words, the walk's with
the depth; ``worth_it`` chooses.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

_ONE = np.uint64(1)
# Leaves per 64-bit word, and a word with all of them standing.
LEAF_BITS = 63
_ALL = np.uint64((1 << LEAF_BITS) - 1)
# At most this many words of leaf bits per tree (252 leaves).
MAX_WORDS = 4
# A block holds about this many words per row (its trees times their words): the and-ed
# row (about 1 KiB) and the tables stay small.
BLOCK_WORDS = 128
# Rows per step: the step's gathered and-ed bits (256 KiB) stay in the cache.
_STEP_WORDS = 32_768
# Rows ranked at a time (see ``LeafBitvectors.value_sums``).
_RANK_ROWS = 65_536
# Features with few thresholds share one table of at most this many rows (a row per
# combination of their ranks): one gather and one and instead of one per feature. A
# block's joint table then stays within 1 MiB.
JOINT_ROWS = 1024
# Trees whose tables would take more memory are walked. A model is cached per process
# (8 of them): 100 trees of 128 leaves on 19 features take 6 MiB; trees with many more
# distinct thresholds (a regressor's 65,535 bins) would take hundreds.
MAX_TABLE_BYTES = 32 * 2**20


def words_for(leaves: int) -> int:
    """Words of leaf bits for a tree of ``leaves`` leaves."""
    return max(1, (int(leaves) - 1) // LEAF_BITS + 1)


def worth_it(n_features_used: int, words: int, leaves: int) -> bool:
    """Whether bit vectors beat the level-by-level walk for such trees.

    Measured on 64-tree forests and 5,000 rows, per (row, tree) pair: bit vectors cost
    about 8 ns plus 0.5 ns per feature and word (8 features and one word: 12 ns; 120
    and one: 69 ns); the walk 45-55 ns for trees 5 to 8 levels deep, 80-100 ns at 10. A
    tree of ``leaves`` leaves is at least log2(leaves) deep.
    """
    depth = max(1, int(leaves - 1).bit_length())
    return words <= MAX_WORDS and n_features_used * words <= 12 * depth


class LeafBitvectors:
    """The bit-vector tables of consecutive trees of a ``FlatTrees`` table.

    The trees are cut into blocks of trees with the same number of words of leaf bits
    (about ``BLOCK_WORDS`` words a block), so that trees of up to 63 leaves cost one word
    even beside larger ones. A feature's thresholds are those of all the trees, without
    repeats (the grower's bins repeat them from tree to tree), so a row's rank on a
    feature is searched once for all blocks.

    Parameters
    ----------
    flat : FlatTrees
    first, end : int
        The trees ``first`` to ``end - 1`` of ``flat``.
    base : int
        Subtracted from the node numbers returned (the index of the group's first node).
    values : ndarray of shape (group's nodes, n_values)
        The node values, by node number less ``base``.

    Attributes
    ----------
    words : int
        The most words of leaf bits of a tree.
    features : ndarray of shape (n_used,), dtype intp
        The features some split of these trees uses.
    thresholds : list of ndarray
        Per used feature, its distinct split thresholds, sorted.
    joints : list of list of int
        The used features (their places in ``features``) that share a table: binary
        columns (one threshold, three rows with NaN's) go six to a table.
    table_bytes : int
        The size of the tables (none are built above ``MAX_TABLE_BYTES``).
    blocks : list of _Block
        Empty when the tables would be too large.
    """

    def __init__(self, flat, first: int, end: int, base: int, values: np.ndarray):
        n_trees = end - first
        left, feature, threshold = flat.split_arrays()
        roots = flat.offsets[first:end]
        levels = _levels(roots, left)
        leaves = np.zeros(len(left), dtype=np.intp)  # leaves under each node
        for level in reversed(levels):
            inner = level[left[level] != level]
            leaves[level[left[level] == level]] = 1
            leaves[inner] = leaves[left[inner]] + leaves[left[inner] + 1]
        start = np.zeros(len(left), dtype=np.intp)  # number of the node's leftmost leaf
        tree = np.zeros(len(left), dtype=np.intp)
        tree[roots] = np.arange(n_trees)
        splits, leaf_ids = [], []
        for level in levels:
            is_leaf = left[level] == level
            leaf_ids.append(level[is_leaf])
            inner = level[~is_leaf]
            splits.append(inner)
            kid = left[inner]
            start[kid], start[kid + 1] = start[inner], start[inner] + leaves[kid]
            tree[kid] = tree[kid + 1] = tree[inner]
        leaf_ids, splits = np.concatenate(leaf_ids), np.concatenate(splits)
        kid = left[splits]
        # The split nodes, one array per attribute: ``tree`` numbered among these trees,
        # ``first_leaf`` to ``end_leaf - 1`` the leaves of the left subtree.
        split = SimpleNamespace(
            tree=tree[splits],
            feature=feature[splits],
            threshold=threshold[splits],
            nan_right=flat.nan_right[splits],
            first_leaf=start[kid],
            end_leaf=start[kid] + leaves[kid],
        )
        self.features = np.unique(split.feature)
        self.thresholds = [np.unique(split.threshold[split.feature == f]) for f in self.features]
        split.row = np.zeros(len(splits), dtype=np.intp)  # its row in its feature's table
        split.column = np.searchsorted(self.features, split.feature)
        for j, f in enumerate(self.features):
            on_f = split.feature == f
            split.row[on_f] = np.searchsorted(self.thresholds[j], split.threshold[on_f]) + 1
        self.joints = _joints([len(u) + 2 for u in self.thresholds])
        tree_words = (leaves[roots] - 1) // LEAF_BITS + 1
        self.words = int(tree_words.max())
        rows = [np.prod([len(self.thresholds[j]) + 2 for j in joint]) for joint in self.joints]
        self.table_bytes = int(sum(rows)) * int(tree_words.sum()) * 8
        self.blocks = []
        if self.table_bytes > MAX_TABLE_BYTES:
            return  # not built: the trees are walked
        for words in np.unique(tree_words):
            same = np.flatnonzero(tree_words == words)
            # Blocks of about BLOCK_WORDS words, evened out: a block has a cost of its own
            # per row, so 65 two-word trees make one block, not 64 and 1.
            n_blocks = max(1, round(len(same) * int(words) / BLOCK_WORDS))
            for trees in np.array_split(same, n_blocks):
                self.blocks.append(
                    _Block(trees, int(words), split, leaf_ids, tree, start, base, values, self)
                )

    def leaves(self, X: np.ndarray, out: np.ndarray) -> None:
        """Write the node (less ``base``) reached by each row of ``X`` in each tree into
        ``out``, of shape (n_trees, n_samples)."""
        ranks = self._ranks(X)
        for block in self.blocks:
            block.leaves(ranks, out)

    def value_sums(self, X: np.ndarray) -> np.ndarray:
        """The sum over the trees of the values of the leaves each row reaches, shape
        (n_samples, n_values): the trees of a block summed along each row (or their votes
        counted), then the blocks in turn. A row's sums do not depend on the other rows."""
        total = np.zeros((X.shape[0], len(self.blocks[0].leaf_value)))
        # The ranks (a copy of the used columns, an index per feature and joint) are made
        # for so many rows at a time: a million-row X does not get three copies at once.
        for start in range(0, X.shape[0], _RANK_ROWS):
            part = X[start : start + _RANK_ROWS]
            ranks = self._ranks(part)
            for block in self.blocks:
                block.add_values(ranks, total[start : start + len(part)])
        return total

    def _ranks(self, X: np.ndarray) -> list[np.ndarray]:
        """Each row's rank on each joint of features: its table row."""
        ranks = []
        # The used columns in one pass, each contiguous for searchsorted.
        columns = np.ascontiguousarray(X.T[self.features])
        missing = np.isnan(columns)
        has_missing = missing.any(axis=1).tolist()
        for j, (column, thresholds) in enumerate(zip(columns, self.thresholds, strict=True)):
            if len(thresholds) == 1:  # a one-hot column: a comparison is 5x cheaper
                rank = np.greater(column, thresholds[0]).view(np.int8)
            else:
                rank = np.searchsorted(thresholds, column, side="left")
            if has_missing[j]:
                rank = rank.astype(np.intp, copy=False)
                rank[missing[j]] = len(thresholds) + 1
            ranks.append(rank)
        joint_ranks = []
        for joint in self.joints:
            rank = ranks[joint[0]].astype(np.intp, copy=False)
            for j in joint[1:]:
                rank = rank * (len(self.thresholds[j]) + 2) + ranks[j]
            joint_ranks.append(rank)
        return joint_ranks


class _Block:
    """Trees with the same words of leaf bits, and their tables.

    Attributes
    ----------
    trees : ndarray of shape (n_trees,), dtype intp
        The trees' numbers among the ``LeafBitvectors``' trees.
    words : int
    tables : list of (int, ndarray)
        For each joint (its place in ``LeafBitvectors.joints``) some split of these trees
        uses, its table of shape (rows, n_trees, words). A lone feature's row ``k`` is the
        and of the masks of the splits whose threshold is below the ``k``-th distinct
        threshold, its last row that of the splits that send NaN right; a joint table's
        row for ranks ``(k1, k2)`` is the and of the two features' rows.
    leaf_node : ndarray of shape (n_trees * words * 63,), dtype intp
        The node (less ``base``) of each tree's ``i``-th leaf, at ``tree * words * 63 + i``.
    leaf_value : ndarray of shape (n_values, n_trees * words * 63)
        The values of those nodes.
    leaf_class : ndarray of shape (n_trees * words * 63,), dtype intp, or None
        When every leaf holds a single class (a value of 1 and zeros, as the leaves of
        fully grown classification trees do), the index of its class: the sums are then
        counts of votes, one gather and a ``bincount`` instead of a gather and a sum per
        class, and exact whatever the order.
    """

    def __init__(self, trees, words, split, leaf_ids, tree, start, base, values, owner):
        self.trees, self.words = trees, words
        place = np.full(int(tree.max()) + 1, -1, dtype=np.intp)  # tree -> column
        place[trees] = np.arange(len(trees))
        bits = words * LEAF_BITS
        my_leaves = leaf_ids[place[tree[leaf_ids]] >= 0]
        slots = place[tree[my_leaves]] * bits + start[my_leaves]
        self.leaf_node = np.zeros(len(trees) * bits, dtype=np.intp)
        self.leaf_node[slots] = my_leaves - base
        # One row per value: these tables are small, and a gather from a row of a
        # contiguous array is 5x faster than one of the rows of a 2-d array.
        self.leaf_value = np.ascontiguousarray(values[self.leaf_node].T)
        real = self.leaf_value[:, slots]
        self.leaf_class = None
        if np.all((real == 0) | (real == 1)) and np.all(real.sum(axis=0) == 1):
            self.leaf_class = np.argmax(self.leaf_value, axis=0)
        mine = np.flatnonzero(place[split.tree] >= 0)  # the splits of these trees
        masks = _masks(split.first_leaf[mine], split.end_leaf[mine], words)
        column = place[split.tree[mine]]
        used = set(split.column[mine].tolist())
        self.tables = []
        for i, joint in enumerate(owner.joints):
            if used.isdisjoint(joint):
                continue
            table = None
            for j in joint:
                part = np.full((len(owner.thresholds[j]) + 2, len(trees), words), _ALL)
                on_j = split.column[mine] == j
                np.bitwise_and.at(part, (split.row[mine[on_j]], column[on_j]), masks[on_j])
                np.bitwise_and.accumulate(part[:-1], axis=0, out=part[:-1])
                nan = on_j & split.nan_right[mine]
                np.bitwise_and.at(part[-1], column[nan], masks[nan])
                if table is not None:
                    part = (table[:, None] & part[None, :]).reshape(-1, len(trees), words)
                table = part
            self.tables.append((i, table))

    def leaves(self, ranks: list[np.ndarray], out: np.ndarray) -> None:
        for a, b, index in self._leaf_indexes(ranks, out.shape[1]):
            out[self.trees, a:b] = self.leaf_node.take(index).T

    def add_values(self, ranks: list[np.ndarray], total: np.ndarray) -> None:
        if self.leaf_class is not None:
            self._add_votes(ranks, total)
            return
        gathered = summed = None
        for a, b, index in self._leaf_indexes(ranks, total.shape[0]):
            if gathered is None or len(gathered) != b - a:  # the first and the last step
                gathered, summed = np.empty(index.shape), np.empty(b - a)
            for column, values in enumerate(self.leaf_value):
                values.take(index, out=gathered, mode="clip")
                # einsum sums each row as sum(axis=1) does, in half the time (its loop
                # does not restart for every row of 64); a row's sum does not depend on
                # the rows around it.
                np.einsum("ij->i", gathered, out=summed)
                total[a:b, column] += summed

    def _add_votes(self, ranks: list[np.ndarray], total: np.ndarray) -> None:
        n_classes = total.shape[1]
        votes = row_base = None
        for a, b, index in self._leaf_indexes(ranks, total.shape[0]):
            if votes is None or len(votes) != b - a:  # the first and the last step
                votes = np.empty(index.shape, dtype=np.intp)
                row_base = np.arange(b - a)[:, None] * n_classes
            self.leaf_class.take(index, out=votes, mode="clip")
            votes += row_base  # row * n_classes + class
            counts = np.bincount(votes.ravel(), minlength=(b - a) * n_classes)
            total[a:b] += counts.reshape(b - a, n_classes)

    def _leaf_indexes(self, ranks: list[np.ndarray], n: int):
        """For each step of rows ``a`` to ``b - 1``, ``(a, b, index)``: the number of the
        leaf each row reaches in each tree, plus ``tree * words * 63``, of shape
        (b - a, n_trees). The arrays are reused from step to step."""
        n_trees, words = len(self.trees), self.words
        tree_bits = np.arange(n_trees) * (words * LEAF_BITS)
        if not self.tables:  # one-leaf trees
            yield 0, n, np.broadcast_to(tree_bits, (n, n_trees))
            return
        step = max(1, min(n, _STEP_WORDS // (n_trees * words)))
        standing, gathered, below = (np.empty((step, n_trees, words), np.uint64) for _ in "abc")
        # Added to a one-word tree's count of the bits up to its lowest set one.
        tree_bits_less_one = tree_bits - 1
        counts = np.empty((step, n_trees, words), np.uint8)
        index = np.empty((step, n_trees), np.intp)
        (j, table), rest = self.tables[0], self.tables[1:]
        m = None
        for a in range(0, n, step):
            b = min(n, a + step)
            if b - a != m:  # the first and the last step: views of the step's length
                m = b - a
                st, ga, be, co, ix = standing[:m], gathered[:m], below[:m], counts[:m], index[:m]
            # mode="clip": with the default, take() copies through a buffer when given out.
            table.take(ranks[j][a:b], axis=0, out=st, mode="clip")
            for k, other in rest:
                other.take(ranks[k][a:b], axis=0, out=ga, mode="clip")
                np.bitwise_and(st, ga, out=st)
            np.subtract(st, _ONE, out=be)
            np.bitwise_xor(st, be, out=be)
            np.bitwise_count(be, out=co)
            if words == 1:
                np.add(co[:, :, 0], tree_bits_less_one, out=ix)
            else:
                _first_leaf(co, ix)
                ix += tree_bits
            yield a, b, ix


def _joints(rows: list[int]) -> list[list[int]]:
    """Features (by place) packed into joints whose product of ``rows`` stays within
    ``JOINT_ROWS``: each feature, most rows first, joins the first joint it fits in."""
    joints, products = [], []
    for j in sorted(range(len(rows)), key=lambda j: -rows[j]):
        for i, product in enumerate(products):
            if product * rows[j] <= JOINT_ROWS:
                joints[i].append(j)
                products[i] *= rows[j]
                break
        else:
            joints.append([j])
            products.append(rows[j])
    return joints


def _levels(roots: np.ndarray, left: np.ndarray) -> list[np.ndarray]:
    """The nodes under ``roots``, level by level (``left[leaf] == leaf``; the right child
    follows the left one)."""
    levels, level = [], roots
    while len(level):
        levels.append(level)
        kid = left[level[left[level] != level]]
        level = np.stack([kid, kid + 1], axis=1).ravel()
    return levels


def _masks(first: np.ndarray, end: np.ndarray, words: int) -> np.ndarray:
    """All leaves but ``first`` to ``end - 1``: shape (len(first), words)."""
    masks = np.empty((len(first), words), dtype=np.uint64)
    for w in range(words):
        lo = np.clip(first - LEAF_BITS * w, 0, LEAF_BITS).astype(np.uint64)
        hi = np.clip(end - LEAF_BITS * w, 0, LEAF_BITS).astype(np.uint64)
        masks[:, w] = _ALL & ~(((_ONE << hi) - _ONE) & ~((_ONE << lo) - _ONE))
    return masks


def _first_leaf(counts: np.ndarray, leaf: np.ndarray) -> None:
    """Write into ``leaf`` the number of the first leaf standing, from ``counts`` (per
    word, the count of the bits up to its lowest set one: 64 when none is set).

    Two words' counts, read as one 16-bit number, index a table of the answers.
    """
    words = counts.shape[-1]
    if words == 2:
        _TWO_WORDS.take(counts.view("<u2")[..., 0], out=leaf, mode="clip")
        return
    leaf[...] = counts[..., -1]
    leaf -= 1
    for w in range(words - 2, -1, -1):
        leaf *= counts[..., w] >> 6  # 1 for a word with no leaf standing, else 0
        leaf += counts[..., w]
        leaf -= 1


def _two_words() -> np.ndarray:
    c0, c1 = np.arange(256 * 256) % 256, np.arange(256 * 256) // 256
    return np.where(c0 == 64, LEAF_BITS + c1 - 1, c0 - 1).astype(np.intp)


_TWO_WORDS = _two_words()
