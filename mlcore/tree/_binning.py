"""Bin every feature once into at most 255 value bins plus one bin for NaN.

Split search then works on small integer codes: a histogram per node instead of a sort,
which is what makes a NumPy tree fast. Thresholds stay in original units so a fitted
tree predicts on raw ``X`` (``x <= threshold`` goes left).

A feature with at most ``max_bins`` distinct values gets one bin per value and exact
thresholds (midpoints between consecutive values), as an exact tree would. Otherwise the
thresholds are quantiles of a subsample, so every bin holds about as many samples.
"""

from __future__ import annotations

import numpy as np

# Quantiles of 50,000 values are as good as those of all of them for 255 bins, and
# sorting a subsample is four times cheaper on the 200,000-row workloads.
_SUBSAMPLE = 50_000
# Rows per block when computing codes (a transposed block of 20 features is 2.5 MiB).
_BLOCK_ROWS = 16_384
# Grid cells per threshold in the two-level lookup of ``_digitize``.
_GRID_PER_THRESHOLD = 4
# Codes are uint8 while every feature fits 256 codes (NaN included), uint16 beyond.
MAX_BINS = 65_535
# Value bins of one histogram: a node's range of finer codes is cut into at most this many.
ZOOM_BINS = 256


class BinnedData:
    """Binned ``X`` shared by one tree or by all trees of a forest.

    Attributes
    ----------
    codes : ndarray of shape (n_features, n_samples), dtype uint8
        Bin code of every value, feature-major so a feature's codes are contiguous.
    thresholds : list of ndarray
        ``thresholds[f][b]`` separates bin ``b`` (``x <= threshold``) from bin ``b + 1``.
    n_value_bins : ndarray of shape (n_features,)
        Bins holding values; NaN gets code ``n_value_bins[f]``.
    has_nan : ndarray of shape (n_features,), dtype bool
    width : ndarray of shape (n_features,)
        Codes per feature: value bins plus one for NaN if the feature has any.
    zoom : bool
        Whether some feature has more than ``ZOOM_BINS`` value bins (uint16 codes); the
        histograms then look at each node's own range of codes (see ``_splitter``).
    hist_width, hist_nan : ndarray of shape (n_features,)
        Histogram width per feature and the histogram bin of NaN: at most ``ZOOM_BINS``
        value bins plus one for NaN.
    """

    def __init__(self, codes, thresholds, n_value_bins, has_nan, values=None):
        self.codes = codes
        self.thresholds = thresholds
        self.n_value_bins = n_value_bins
        self.has_nan = has_nan
        self.width = n_value_bins + has_nan
        self.nan_code = n_value_bins
        # Features that can never be split (one value, no NaN) are never drawn.
        self.splittable = self.width > 1
        self.any_nan = bool(has_nan.any())
        self.zoom = bool((n_value_bins > ZOOM_BINS).any())
        self.hist_nan = np.minimum(n_value_bins, ZOOM_BINS)
        self.hist_width = self.hist_nan + has_nan
        self._tables = None
        self.values = values if values is not None else [None] * len(thresholds)

    @property
    def n_features(self) -> int:
        return self.codes.shape[0]

    @property
    def n_samples(self) -> int:
        return self.codes.shape[1]

    def threshold_value(self, feature, code, next_code) -> np.ndarray:
        """Thresholds in original units for splits ``code(x) <= code``.

        The node's next non-empty code is ``next_code``; the threshold goes midway
        through the gap: between the two values for exactly binned features (as
        scikit-learn does), between the bin edges otherwise, and ``inf`` when only NaN
        goes right.
        """
        if self._tables is None:
            # One block of ``width[f]`` entries per feature (flat: 65,535-bin features
            # would make a square table of n_features x 65,536).
            start = np.cumsum(self.width) - self.width
            thr = np.full(int(self.width.sum()), np.inf)
            # Exact values only if some feature has them (all NaN: nothing is exact).
            exact = any(v is not None for v in self.values)
            values = np.full(len(thr), np.nan) if exact else None
            for f, t in enumerate(self.thresholds):
                thr[start[f] : start[f] + len(t)] = t
                if values is not None and self.values[f] is not None:
                    values[start[f] : start[f] + len(self.values[f])] = self.values[f]
            self._tables = start, thr, values
        start, thr, values = self._tables
        base = start[feature]
        nan_right = next_code >= self.n_value_bins[feature]
        # Codes are below width[f], so every index stays inside the feature's block.
        out = (thr[base + code] + thr[base + next_code - 1]) / 2
        if values is None:
            return np.where(nan_right, np.inf, out)
        low, high = values[base + code], values[base + next_code]
        exact = ~np.isnan(low) & ~np.isnan(high)
        mid = low + (high - low) / 2
        mid = np.where(mid >= high, low, mid)  # rounding onto the upper value
        out = np.where(exact, mid, out)
        return np.where(nan_right, np.inf, out)


def bin_data(X: np.ndarray, max_bins: int = 255) -> BinnedData:
    """Bin a validated float64 ``X`` of shape (n_samples, n_features)."""
    if not 2 <= max_bins <= MAX_BINS:
        raise ValueError(f"max_bins must be an integer in [2, {MAX_BINS}], got {max_bins!r}.")
    n, p = X.shape
    has_nan = np.zeros(p, dtype=bool)
    for start in range(0, n, _BLOCK_ROWS):
        has_nan |= np.isnan(X[start : start + _BLOCK_ROWS]).any(axis=0)
    rows = None
    if n > _SUBSAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(n, _SUBSAMPLE, replace=False))
    thresholds, values = [], []
    for f in range(p):
        # One feature at a time: a sorted copy of the whole sample was the fit's peak.
        column = np.sort(X[:, f] if rows is None else X[rows, f])  # NaN sorts last
        if has_nan[f]:
            column = column[: np.searchsorted(np.isnan(column), True)]
        thr, distinct = _thresholds(column, max_bins)
        thresholds.append(thr)
        values.append(distinct)
    # Codes block by block of rows: a transposed block is small, a transposed X is not.
    n_value_bins = np.array([len(t) + 1 for t in thresholds], dtype=np.intp)
    dtype = np.uint8 if (n_value_bins + has_nan).max(initial=1) <= 256 else np.uint16
    codes = np.empty((p, n), dtype=dtype)
    for start in range(0, n, _BLOCK_ROWS):
        block = np.ascontiguousarray(X[start : start + _BLOCK_ROWS].T)
        for f in range(p):
            nan_mask = np.isnan(block[f]) if has_nan[f] else None
            codes[f, start : start + _BLOCK_ROWS] = _digitize(block[f], thresholds[f], nan_mask)
    return BinnedData(codes, thresholds, n_value_bins, has_nan, values)


def _thresholds(sorted_values: np.ndarray, max_bins: int) -> np.ndarray:
    """Split points between bins for one feature's sorted non-NaN values.

    Returns the thresholds and, when every distinct value has its own bin, those values.
    """
    if len(sorted_values) == 0:
        return np.empty(0), None
    change = np.flatnonzero(sorted_values[1:] != sorted_values[:-1])
    distinct = None
    if len(change) + 1 <= max_bins:
        lower, upper = sorted_values[change], sorted_values[change + 1]
        distinct = np.append(lower, sorted_values[-1])
    else:
        # Cut at evenly spaced ranks, then keep each cut between two distinct values.
        ranks = (np.arange(1, max_bins) * len(sorted_values)) // max_bins
        lower, upper = sorted_values[ranks - 1], sorted_values[ranks]
        keep = lower < upper
        lower, upper = lower[keep], upper[keep]
        if len(lower):
            pairs = np.unique(np.stack([lower, upper]), axis=1)
            lower, upper = pairs[0], pairs[1]
    mid = lower + (upper - lower) / 2
    # A midpoint that rounds onto the upper value would put it in the lower bin.
    bad = (mid >= upper) | ~np.isfinite(mid)
    mid[bad] = lower[bad]
    if distinct is not None:
        # Values too close to separate share a bin; keep one representative per bin.
        keep = np.append(~bad, True)
        return mid[~bad], distinct[keep]
    return np.unique(mid), None


def _digitize(values: np.ndarray, thr: np.ndarray, nan_mask) -> np.ndarray:
    """Codes ``#(thr < x)`` (``searchsorted`` left); NaN gets ``len(thr) + 1``.

    ``np.searchsorted`` costs ~50 ns per value here; a uniform grid over the thresholds'
    range gives each value a lower bound on its code in one gather, and a few vectorised
    steps finish the count (values in crowded grid cells fall back to searchsorted).
    """
    t = len(thr)
    if nan_mask is not None:
        values = np.where(nan_mask, thr[0] if t else 0.0, values)
    if t == 0:
        codes = np.zeros(len(values), dtype=np.intp)
    elif t < 8 or len(values) < 4096:
        codes = np.searchsorted(thr, values, side="left")
    else:
        lo, hi = thr[0], thr[-1]
        cells = _GRID_PER_THRESHOLD * t
        scale = cells / (hi - lo) if hi > lo else 0.0
        # The same monotone arithmetic for thresholds and values: a threshold in an
        # earlier cell than x is certainly below x, so ``start`` is a lower bound.
        thr_cell = np.clip((thr - lo) * scale, 0, cells - 1).astype(np.intp)
        start = np.searchsorted(thr_cell, np.arange(cells), side="left")
        cell = np.clip((values - lo) * scale, 0, cells - 1).astype(np.intp)
        code = start[cell]
        padded = np.append(thr, np.inf)
        active = np.arange(len(values))
        for _ in range(4):
            step = padded[code[active]] < values[active]
            active = active[step]
            if len(active) == 0:
                break
            code[active] += 1
        if len(active):
            code[active] = np.searchsorted(thr, values[active], side="left")
        codes = code
    if nan_mask is not None:
        codes[nan_mask] = t + 1
    return codes
