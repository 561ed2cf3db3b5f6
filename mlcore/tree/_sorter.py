"""Best splits of small nodes by sorting, for all small open nodes of a round at once.

A histogram of a node much smaller than the number of bins is nearly all empty bins,
so instead each (node, feature) segment is sorted by bin code: keys
``(segment << 8 | code)`` arrive grouped by node, and a stable sort (timsort) of such
keys is close to linear. Candidates are the cuts between distinct codes in a segment.

For unweighted classification without NaN the scores need no per-class arrays: moving
one sample of class c from the right side to the left changes ``sum_k L_k**2`` by
``2 L_c + 1`` (and ``sum_k L_k log L_k`` by a table difference), so both sides'
sums are prefix sums of per-sample terms, whatever the number of classes. ``L_c`` is
the sample's rank among the earlier samples of its class in the segment.
"""

from __future__ import annotations

import numpy as np

from ._splitter import empty_result, pick_best, score_candidates

# (node, feature) pairs sorted per call: about a dozen int64 arrays of this length live
# at once, 2 MiB each.
_CHUNK_PAIRS = 1 << 16


def sorted_splits(ctx, codes_of, ys, ws, counts, feats):
    """Best split of each (small) node; parameters and returns as ``hist_splits``.

    Also returns ``constant`` of shape (q, S): whether the node's samples share one
    bin code in that slot's feature.
    """
    q, n_slots = feats.shape
    result = (*empty_result(q), np.zeros((q, n_slots), dtype=bool))
    if q == 0:
        return result
    chunk = np.cumsum(counts * n_slots) // _CHUNK_PAIRS
    bounds = np.flatnonzero(np.diff(chunk)) + 1
    starts = np.concatenate(([0], np.cumsum(counts)))
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, q], strict=True):
        out = _sorted_chunk(ctx, codes_of, ys, ws, counts[a:b], feats[a:b], starts[a])
        for dst, src in zip(result, out, strict=True):
            dst[a:b] = src
    return result


def _sorted_chunk(ctx, codes_of, ys, ws, counts, feats, lo):
    q, n_slots = feats.shape
    binned, crit = ctx.binned, ctx.criterion
    m = int(counts.sum())
    ys = ys[lo : lo + m]
    ws = None if ws is None else ws[lo : lo + m]
    shared = q == 1 or bool((feats == feats[0]).all())
    codes = codes_of(feats[0] if shared else feats, counts, lo, lo + m).T
    # Element e = i * S + s, so keys arrive grouped by node.
    node_seg = np.repeat(np.arange(q) * n_slots, counts)
    bits = 8 * codes.itemsize
    seg_code = ((node_seg[:, None] + np.arange(n_slots)[None, :]) << bits) | codes
    counting = crit.is_classification and ws is None
    if counting:
        # Classes ride in the low bits, so sorting the keys alone is enough.
        cbits = ctx.class_bits
        key = np.sort(((seg_code << cbits) | ys[:, None]).ravel(), kind="stable")
        cls_s = key & ((1 << cbits) - 1)
        seg_code_s = key >> cbits
    else:
        order = np.argsort(seg_code.ravel(), kind="stable")
        seg_code_s = seg_code.ravel()[order]
        sample_s = order // n_slots
        cls_s = ys[sample_s] if crit.is_classification else None
    code_s = seg_code_s & ((1 << bits) - 1)
    seg_s = seg_code_s >> bits
    n_seg = q * n_slots
    seg_size = np.repeat(counts, n_slots)
    seg_begin = np.cumsum(seg_size) - seg_size
    seg_end = seg_begin + seg_size
    constant = (code_s[seg_begin] == code_s[seg_end - 1]).reshape(q, n_slots)
    # Candidates: cuts between distinct codes inside a segment (after element j).
    same = seg_code_s[1:] == seg_code_s[:-1]
    boundary = (seg_s[1:] == seg_s[:-1]) & ~same
    if ctx.prune:
        # Keep a cut unless both neighbours are single elements of one class (a
        # group of several elements may be mixed; keeping it is always safe).
        differ = cls_s[1:] != cls_s[:-1]
        differ[1:] |= same[:-1]
        differ[:-1] |= same[1:]
        boundary &= differ
    cand = np.flatnonzero(boundary)
    cand_seg = seg_s[cand]
    is_nan = None
    if binned.any_nan:
        is_nan = code_s == binned.nan_code[feats.ravel()][seg_s]
        if not is_nan.any():
            is_nan = None
    cand_code, cand_next = code_s[cand], code_s[cand + 1]
    if counting and is_nan is None:
        scored = _class_scores(ctx, cls_s, seg_s, seg_begin, seg_size, cand, cand_seg, n_seg)
        best = pick_best(q, n_slots, cand_seg, cand_code, cand_next, scored, None)
        return (*best, constant)
    if counting:
        prefix = _prefix_classes(cls_s, crit.n_classes)
    else:
        prefix = _prefix_weights(crit, ys[sample_s], None if ws is None else ws[sample_s])
    base = np.take(prefix, seg_begin, axis=1)
    seg_total = np.take(prefix, seg_end, axis=1) - base
    seg_total[0] = seg_size
    left = np.take(prefix, cand + 1, axis=1)
    left -= np.take(base, cand_seg, axis=1)
    left[0] = cand + 1 - seg_begin[cand_seg]
    tot = np.take(seg_total, cand_seg, axis=1)
    nan_seg = None
    if is_nan is not None:
        # NaN is the last code: a segment's NaN statistics are its last elements.
        n_nan = np.bincount(seg_s[is_nan], minlength=n_seg)
        nan_seg = np.take(prefix, seg_end, axis=1) - np.take(prefix, seg_end - n_nan, axis=1)
        nan_seg[0] = n_nan
    scored = score_candidates(ctx, cand_seg, left, tot, nan_seg)
    nan_count = None if nan_seg is None else nan_seg[0]
    best = pick_best(q, n_slots, cand_seg, cand_code, cand_next, scored, nan_count)
    return (*best, constant)


def _class_scores(ctx, cls_s, seg_s, seg_begin, seg_size, cand, cand_seg, n_seg):
    """Gini or entropy proxies of candidates from per-sample prefix sums (no NaN)."""
    crit = ctx.criterion
    k = crit.n_classes
    seg_class = seg_s * k + cls_s
    class_total = np.bincount(seg_class, minlength=n_seg * k)
    # Rank of each element among the earlier elements of its class in its segment:
    # its occurrence number in its class overall, minus the class's count in all
    # earlier segments.
    by_class = np.argsort(cls_s.astype(np.uint8 if k <= 256 else np.intp), kind="stable")
    class_count = np.bincount(cls_s, minlength=k)
    occurrence = np.empty(len(cls_s), dtype=np.int64)
    occurrence[by_class] = np.arange(len(cls_s)) - np.repeat(
        np.cumsum(class_count) - class_count, class_count
    )
    earlier = (
        np.cumsum(class_total.reshape(n_seg, k), axis=0) - class_total.reshape(n_seg, k)
    ).ravel()
    rank = occurrence - earlier[seg_class]
    remaining = class_total[seg_class] - rank  # right-side count of the class, before moving
    n_left = cand + 1 - seg_begin[cand_seg]
    n_right = seg_size[cand_seg] - n_left
    if crit.name == "gini":
        left_terms, right_terms = 2 * rank + 1, 2 * remaining - 1
        right_full = (class_total.reshape(n_seg, k) ** 2).sum(axis=1)
    else:
        xlogx = crit._xlogx_table
        left_terms = xlogx[rank + 1] - xlogx[rank]
        right_terms = xlogx[remaining] - xlogx[remaining - 1]
        right_full = xlogx[class_total].reshape(n_seg, k).sum(axis=1)
    left_sum = _segment_prefix(left_terms, seg_begin, cand, cand_seg)
    right_sum = right_full[cand_seg] - _segment_prefix(right_terms, seg_begin, cand, cand_seg)
    if crit.name == "gini":
        score = np.multiply(left_sum, n_right, dtype=np.float64)
        score += np.multiply(right_sum, n_left, dtype=np.float64)
        score /= np.multiply(n_left, n_right, dtype=np.float64)
    else:
        score = left_sum + right_sum - xlogx[n_left] - xlogx[n_right]
    msl = ctx.min_samples_leaf
    if msl > 1:
        score[(n_left < msl) | (n_right < msl)] = -np.inf
    return score, n_left, None


def _segment_prefix(terms, seg_begin, cand, cand_seg):
    """Sum of ``terms`` from each candidate's segment start through the candidate."""
    prefix = np.concatenate(([0], np.cumsum(terms)))
    return prefix[cand + 1] - prefix[seg_begin[cand_seg]]


def _prefix_classes(cls_s, n_classes):
    """Prefix counts per class with a leading zero; row 0 is filled by the caller."""
    prefix = np.zeros((n_classes + 1, len(cls_s) + 1), dtype=np.int64)
    for c in range(n_classes):
        np.cumsum((cls_s == c).astype(np.int64), out=prefix[c + 1, 1:])
    return prefix


def _prefix_weights(crit, ys, ws):
    """Prefix sums of weighted channels with a leading zero; row 0 is left to the caller."""
    n_el = len(ys)
    if crit.is_classification:
        prefix = np.zeros((crit.n_classes + 1, n_el + 1))
        w = np.ones(n_el) if ws is None else ws
        for c in range(crit.n_classes):
            np.cumsum(np.where(ys == c, w, 0.0), out=prefix[c + 1, 1:])
        return prefix
    prefix = np.zeros((crit.n_channels, n_el + 1))
    if ws is None:
        np.cumsum(ys, out=prefix[1, 1:])
    else:
        np.cumsum(ws, out=prefix[1, 1:])
        np.cumsum(ws * ys, out=prefix[2, 1:])
    return prefix
