"""Best-split search for all open nodes of one round at once.

Two engines, chosen per node by its size, both ending in ``pick_best``:

* ``hist_splits`` (here, large nodes): one ``np.bincount`` per chunk of nodes builds
  the histograms of every (channel, node, feature, bin) — bins contiguous, chunks sized
  for the cache. Only non-empty bins are kept, so scoring costs O(distinct codes), not
  O(bins), in nodes smaller than the number of bins.
* ``sorted_splits`` (``_sorter``, small nodes): sorts each (node, feature) segment.

A candidate "split after code c" sends codes ``<= c`` left. With ``min_samples_leaf=1``
classification only keeps boundary points — cuts between two groups of equal codes that
are not both pure in the same class — since a concave impurity is never minimised
strictly inside a run of one class (Fayyad & Irani, 1992). In deep nodes, which are
nearly pure, that removes most candidates.

With more than 256 bins for some feature (uint16 codes, for long-tailed regression),
each (node, feature) histogram "zooms": the node's codes ``lo..hi`` are shifted right by
the fewest bits that fit them into 256 bins. The root sees 256 quantile bins, as with
uint8 codes; a deep node whose values sit in one of them sees that bin's own finer
bins, down to single codes. Without it, a tail bin (97% of the squared error in 0.4% of
the rows on the long-tailed benchmark) could never be split; histograms of all 65,535
bins would cost O(bins) per node.

Data with NaN is scored twice: NaN right (it is the last code, so plain prefix sums) and
NaN left (the segment's NaN statistics added to the left side).
"""

from __future__ import annotations

import numpy as np

from ._binning import ZOOM_BINS

# Histogram chunk limits: cells (channels × bins) and (sample, feature) pairs per
# np.bincount call; 2**17 int64 cells = 1 MiB, about this machine's L2 cache per core.
_CHUNK_CELLS = 1 << 17
_CHUNK_PAIRS = 1 << 18


class SplitContext:
    """What the split engines need besides the samples of the level."""

    def __init__(self, binned, criterion, min_samples_leaf: int):
        self.binned = binned
        self.criterion = criterion
        self.min_samples_leaf = min_samples_leaf
        self.n_channels = criterion.n_channels
        # Boundary points suffice only without a leaf-size constraint.
        self.prune = criterion.is_classification and min_samples_leaf == 1
        self.class_bits = max(1, int(criterion.n_classes - 1).bit_length())


def empty_result(q: int):
    """score, slot, code, next_code, nan_left, nan_seen, n_left per node."""
    return (
        np.full(q, -np.inf),
        np.zeros(q, dtype=np.intp),
        np.zeros(q, dtype=np.intp),
        np.zeros(q, dtype=np.intp),
        np.zeros(q, dtype=bool),
        np.zeros(q, dtype=bool),
        np.zeros(q, dtype=np.int64),
    )


def hist_splits(ctx: SplitContext, codes_of, ys, ws, counts, feats):
    """Best split of each node from histograms.

    Parameters
    ----------
    codes_of : callable
        ``codes_of(features, counts, lo, hi)`` returns the bin codes of the level's
        samples ``lo:hi``, shape (S, hi - lo): for a 1-D array of S features shared by
        all of them, or for per-node features (q, S) with ``counts`` samples per node.
    ys, ws : ndarray
        Class codes (or targets) and weights (or None) of the level's samples.
    counts : ndarray of shape (q,)
        Samples per node; nodes are consecutive runs of the level's samples.
    feats : ndarray of shape (q, S)
        Features examined at each node.

    Returns
    -------
    score, slot, code, next_code, nan_left, nan_seen, n_left : ndarrays of shape (q,)
        ``next_code`` is the node's next non-empty code after ``code`` (where the
        threshold is placed, midway, as an exact tree would).
    """
    q = len(counts)
    result = empty_result(q)
    if q == 0:
        return result
    widths = ctx.binned.hist_width[feats]
    node_cells = ctx.n_channels * widths.sum(axis=1)
    node_pairs = counts * feats.shape[1]
    chunk = np.maximum(np.cumsum(node_cells) // _CHUNK_CELLS, np.cumsum(node_pairs) // _CHUNK_PAIRS)
    bounds = np.flatnonzero(np.diff(chunk)) + 1
    starts = np.concatenate(([0], np.cumsum(counts)))
    n_slots = feats.shape[1]
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, q], strict=True):
        # A chunk of one huge node (the first rounds, or very wide data) can exceed the
        # limits alone: take its features in groups and keep each node's best split.
        size = max(node_cells[a:b].sum() / _CHUNK_CELLS, node_pairs[a:b].sum() / _CHUNK_PAIRS)
        for group in np.array_split(np.arange(n_slots), min(n_slots, int(np.ceil(size)) or 1)):
            out = _hist_chunk(
                ctx, codes_of, ys, ws, counts[a:b], feats[a:b, group], widths[a:b, group], starts[a]
            )
            # Strictly better only: on ties the earlier feature wins, as within a group.
            better = out[0] > result[0][a:b]
            out[1][:] = group[out[1]]  # slot within the group -> slot of the node
            for dst, src in zip(result, out, strict=True):
                dst[a:b][better] = src[better]
    return result


def _hist_chunk(ctx, codes_of, ys, ws, counts, feats, widths, lo):
    binned, crit = ctx.binned, ctx.criterion
    qc, n_slots = feats.shape
    hi = lo + int(counts.sum())
    seg_width = widths.ravel()
    seg_end = np.cumsum(seg_width)
    seg_start = seg_end - seg_width
    total = int(seg_end[-1])
    y_chunk = ys[lo:hi]
    w_chunk = None if ws is None else ws[lo:hi]
    # Classification histograms stack the class rows after a count row (row 0); the
    # class goes into the index, so one bincount fills them all. Per-node values are
    # spread over samples with np.repeat (nodes are runs), far cheaper than gathers.
    row = (y_chunk + 1) * total if crit.is_classification else 0
    shared = qc == 1 or bool((feats == feats[0]).all())
    codes = codes_of(feats[0] if shared else feats, counts, lo, hi)
    zoom = None
    if binned.zoom:
        codes, zoom = _zoom(binned, codes, counts, feats)
    if shared:
        node_base = np.repeat(np.arange(qc) * (total // qc), counts) + row
        index = seg_start[:n_slots, None] + node_base[None, :]
    else:
        index = np.repeat(seg_start.reshape(qc, n_slots).T, counts, axis=1)
        index += row
    index += codes
    hist = _bincount_channels(crit, index, y_chunk, w_chunk, total)
    nonempty = np.flatnonzero(hist[0])
    vals = np.take(hist, nonempty, axis=1)
    cum = np.cumsum(vals, axis=1)
    if (seg_width == seg_width[0]).all():
        seg = nonempty // int(seg_width[0])
    else:
        seg = np.searchsorted(seg_start, nonempty, side="right") - 1
    first = np.searchsorted(nonempty, seg_start)
    last = np.searchsorted(nonempty, seg_end) - 1
    before = np.take(cum, first - 1, axis=1)
    before[:, first == 0] = 0
    seg_total = np.take(cum, last, axis=1) - before
    inner = seg[1:] == seg[:-1]  # a cut after position j keeps both sides non-empty
    if ctx.prune:
        inner &= _not_same_pure(vals, crit.integer_counts)
    cand = np.flatnonzero(inner)
    cand_seg = seg[cand]
    left = np.take(cum, cand, axis=1)
    left -= np.take(before, cand_seg, axis=1)
    tot = np.take(seg_total, cand_seg, axis=1)
    code = nonempty[cand] - seg_start[cand_seg]
    next_code = nonempty[cand + 1] - seg_start[cand_seg]
    nan_seg = None
    if binned.any_nan:
        # A segment's NaN statistics are its last non-empty bin if that is the NaN bin.
        is_nan = (nonempty[last] - seg_start) == binned.hist_nan[feats.ravel()]
        if is_nan.any():
            nan_seg = np.where(is_nan, np.take(vals, last, axis=1), 0)
    scored = score_candidates(ctx, cand_seg, left, tot, nan_seg)
    nan_count = None if nan_seg is None else nan_seg[0]
    best = pick_best(qc, n_slots, cand_seg, code, next_code, scored, nan_count)
    if zoom is not None:
        # Only the chosen cuts need codes (nodes without one get harmless values).
        seg = np.arange(qc) * n_slots + best[1]
        best[2][:], best[3][:] = _unzoom(binned, feats, zoom, seg, best[2], best[3])
    return best


def _zoom(binned, codes, counts, feats):
    """Histogram bins of codes (S, m): each node's codes of each feature, shifted.

    Returns the bins and per segment (node-major) the lowest and highest non-NaN code
    and the shift.
    """
    starts = np.cumsum(counts) - counts
    codes = codes.astype(np.intp)
    is_nan = None
    lo = np.minimum.reduceat(codes, starts, axis=1)
    if binned.any_nan:
        is_nan = codes == np.repeat(binned.nan_code[feats].T, counts, axis=1)
        hi = np.maximum.reduceat(np.where(is_nan, 0, codes), starts, axis=1)
    else:
        hi = np.maximum.reduceat(codes, starts, axis=1)
    # The fewest bits that bring hi - lo below ZOOM_BINS: the bit length of the span,
    # less eight (frexp's exponent is the bit length, exactly).
    span = np.maximum(hi - lo, 0)
    shift = np.maximum(np.frexp(span)[1] - (ZOOM_BINS.bit_length() - 1), 0)
    codes -= np.repeat(lo, counts, axis=1)
    codes >>= np.repeat(shift, counts, axis=1)
    if is_nan is not None:
        codes[is_nan] = np.repeat(binned.hist_nan[feats].T, counts, axis=1)[is_nan]
    return codes, (lo.T.ravel(), hi.T.ravel(), shift.T.ravel())


def _unzoom(binned, feats, zoom, seg, code, next_code):
    """Codes of cuts (in segments ``seg``) from histogram bins: the left side ends at the
    top of its bin (the node's highest code at most), the right side starts at its
    bin's first code."""
    lo, hi, shift = (a[seg] for a in zoom)
    left = np.minimum(lo + ((code + 1) << shift) - 1, hi)
    seg_feature = feats.ravel()[seg]
    right = lo + (next_code << shift)
    right = np.where(next_code == binned.hist_nan[seg_feature], binned.nan_code[seg_feature], right)
    return left, right


def _not_same_pure(vals, integer_counts: bool) -> np.ndarray:
    """For consecutive groups j, j+1: not both pure in the same class."""
    whole = vals[0] if integer_counts else vals[1:].sum(axis=0)
    pure = np.zeros(vals.shape[1], dtype=np.int64)
    for k in range(1, len(vals)):
        pure += k * (vals[k] == whole)
    return (pure[1:] != pure[:-1]) | (pure[1:] == 0)


def _bincount_channels(crit, index, ys, ws, total):
    """Histogram channels (n_channels, total) for positions ``index`` of shape (S, m).

    For classification ``index`` already includes the class row offset.
    """
    flat = index.ravel()
    if crit.is_classification:
        n_ch = crit.n_channels
        if ws is None:
            hist = np.bincount(flat, minlength=n_ch * total).reshape(n_ch, total)
            np.sum(hist[1:], axis=0, out=hist[0])
        else:
            weights = np.broadcast_to(ws, index.shape).ravel()
            hist = np.bincount(flat, weights, minlength=n_ch * total).reshape(n_ch, total)
            counts = np.bincount(flat, minlength=n_ch * total).reshape(n_ch, total)
            hist[0] = counts[1:].sum(axis=0)
        return hist
    hist = np.empty((crit.n_channels, total))
    hist[0] = np.bincount(flat, minlength=total)
    if ws is None:
        hist[1] = np.bincount(flat, np.broadcast_to(ys, index.shape).ravel(), minlength=total)
    else:
        hist[1] = np.bincount(flat, np.broadcast_to(ws, index.shape).ravel(), minlength=total)
        wy = np.broadcast_to(ws * ys, index.shape).ravel()
        hist[2] = np.bincount(flat, wy, minlength=total)
    return hist


def score_candidates(ctx, cand_seg, left, tot, nan_seg):
    """Scores of candidates from channel stacks; ``nan_seg`` (per segment) or None.

    Returns the scores, the left sample counts and whether NaN goes left (or None).
    """
    crit, msl = ctx.criterion, ctx.min_samples_leaf
    # Candidates are cuts between two non-empty groups: both sides are non-empty.
    score = crit.proxy(left, tot, msl, check_sides=False)
    n_left = left[0]
    nan_left = None
    if nan_seg is not None:
        left_b = np.minimum(left + np.take(nan_seg, cand_seg, axis=1), tot)
        score_b = crit.proxy(left_b, tot, msl)
        nan_left = score_b > score
        score = np.where(nan_left, score_b, score)
        n_left = np.where(nan_left, left_b[0], n_left)
    return score, n_left, nan_left


def pick_best(q, n_slots, cand_seg, cand_code, cand_next, scored, nan_count):
    """Best candidate per node; candidates are ordered by segment (node-major).

    ``scored`` is what ``score_candidates`` returns; ``nan_count`` holds the NaN
    sample count per segment, or is None when no segment saw NaN.
    """
    out = empty_result(q)
    if len(cand_seg) == 0:
        return out
    score, n_left, nan_left = scored
    score_out, slot_out, code_out, next_out, nan_left_out, nan_seen_out, n_left_out = out
    cand_node = cand_seg // n_slots
    node_first = np.searchsorted(cand_node, np.arange(q))
    node_end = np.append(node_first[1:], len(cand_node))
    nodes = np.flatnonzero(node_end > node_first)
    best = np.maximum.reduceat(score, node_first[nodes])
    hits = np.flatnonzero(score == np.repeat(best, (node_end - node_first)[nodes]))
    pick = hits[np.searchsorted(hits, node_first[nodes])]
    seg = cand_seg[pick]
    score_out[nodes] = best
    slot_out[nodes] = seg - nodes * n_slots
    code_out[nodes] = cand_code[pick]
    next_out[nodes] = cand_next[pick]
    n_left_out[nodes] = n_left[pick]
    if nan_left is not None:
        nan_left_out[nodes] = nan_left[pick]
    if nan_count is not None:
        nan_seen_out[nodes] = nan_count[seg] > 0
    return out
