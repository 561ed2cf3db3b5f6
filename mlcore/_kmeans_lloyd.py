"""Lloyd iterations for :class:`mlcore.cluster.KMeans` with Hamerly bounds (private).

Every pass over the data costs the same few things (distance product, arg-min, centre
update), so the loop avoids passes rather than speeding them up:

* distances come from one BLAS product of the augmented rows (see ``_kmeans_init``);
* the arg-min is a plain column minimum: each float32 distance, viewed as an int32 (the
  order of non-negative floats is the order of their bit patterns), gets the centre index
  written into its lowest mantissa bits, so the minimum key carries its arg-min and the
  row-wise ``argmin`` (slow for a handful of columns) is never called;
* centre sums are updated incrementally from the points whose label changed;
* Hamerly's bounds (an upper bound on the distance to the own centre, a lower bound on
  the distance to any other) let late iterations skip every point whose assignment
  provably cannot change, so they cost a few O(n) vector operations instead of a pass.

Labels and inertia reported to the user come from :func:`nearest_centres`, in float64.
"""

from __future__ import annotations

import numpy as np

from mlcore._kmeans_init import Prepared, augment_centres, block_rows


class _Keys:
    """Constants of the index-in-the-low-bits encoding for ``k`` centres."""

    def __init__(self, k: int, int_dtype) -> None:
        self.bits = max(1, int(k - 1).bit_length())
        self.low = int_dtype((1 << self.bits) - 1)
        self.high = int_dtype(~((1 << self.bits) - 1))
        self.index = np.arange(k, dtype=int_dtype)[:, None]


def _assign_block(rows, coeffs, keys: _Keys, dist_buf, onehot_buf=None):
    """Nearest and second-nearest centre of each row of one block.

    Returns ``(labels, first, second, onehot)``: squared distances (float32, truncated by
    the key bits) to the nearest and second-nearest centre, and, when ``onehot_buf`` is
    given, the (k, m) one-hot matrix of the new labels (float32) for the centre sums.
    """
    m = len(rows)
    dist = dist_buf[:, :m]
    np.matmul(coeffs, rows.T, out=dist)
    key = dist.view(np.int32)
    np.bitwise_and(key, keys.high, out=key)
    np.bitwise_or(key, keys.index, out=key)
    first = key.min(axis=0)
    onehot = None
    if onehot_buf is not None:
        onehot = onehot_buf[:, :m]
        np.equal(key, first, out=onehot, casting="unsafe")  # keys are unique per column
    # Second smallest key: key - (first + 1) wraps the minimum itself round to the
    # largest unsigned value and keeps the order of all others (keys are distinct).
    above = first + np.int32(1)
    np.subtract(key, above, out=key)
    second = key.view(np.uint32).min(axis=0).view(np.int32) + above
    labels = (first & keys.low).astype(np.intp)
    first &= keys.high
    second &= keys.high
    return labels, first.view(np.float32), second.view(np.float32), onehot


class _Bounds:
    """Labels, Hamerly bounds and centre sums of one Lloyd run (all in the centred frame)."""

    def __init__(self, prep: Prepared, k: int) -> None:
        n, width = prep.Xa.shape
        self.Xa = prep.Xa
        # Rows as single opaque items: np.take of these gathers rows several times
        # faster than fancy indexing of the 2-D array.
        self.items = prep.Xa.view(np.dtype((np.void, 4 * width))).ravel()
        self.k = k
        self.d = width - 2
        self.keys = _Keys(k, np.int32)
        truncation = 2.0 ** (self.keys.bits - 23)  # relative error of a key's distance
        self.grow = np.float32(1.0 + truncation)
        self.shrink = np.float32(1.0 - truncation)
        self.labels = np.full(n, -1, dtype=np.intp)
        self.upper = np.full(n, np.inf, dtype=np.float32)
        self.lower = np.zeros(n, dtype=np.float32)
        self.sums = np.zeros((k, width))  # column d counts the members
        self.step = block_rows(k, width)
        self.dist_buf = np.empty((k, self.step), dtype=np.float32)
        self.onehot_buf = np.empty((k, self.step), dtype=np.float32)

    def _store(self, where, labels, first, second) -> None:
        # Bounds are distances (not squared) so the triangle inequality applies; the
        # factors undo the truncation of the keys' low bits, on the safe side.
        self.labels[where] = labels
        np.maximum(first, 0.0, out=first)  # a rounded self-distance can be negative
        np.sqrt(first, out=first)
        first *= self.grow
        self.upper[where] = first
        if self.k == 1:
            self.lower[where] = np.inf
        else:
            np.maximum(second, 0.0, out=second)
            np.sqrt(second, out=second)
            second *= self.shrink
            self.lower[where] = second

    def full_pass(self, coeffs, first: bool) -> int:
        """Assign every point. Returns the number of points that changed label.

        The first pass sums every cluster from scratch; later ones update the sums from
        the points that moved, as :meth:`candidate_pass` does.
        """
        changed = 0
        n = len(self.Xa)
        onehot_buf = self.onehot_buf if first else None
        for start in range(0, n, self.step):
            where = slice(start, start + self.step)
            rows = self.Xa[where]
            labels, near, second, onehot = _assign_block(
                rows, coeffs, self.keys, self.dist_buf, onehot_buf
            )
            if first:
                changed += len(rows)
                self.sums += onehot @ rows
            else:
                changed += self._move(labels, self.labels[where], rows)
            self._store(where, labels, near, second)
        return changed

    def _move(self, labels, old, rows) -> int:
        """Move the points whose label changed between the cluster sums."""
        moved = np.flatnonzero(labels != old)
        if len(moved):
            delta = np.subtract(
                labels[moved] == self.keys.index, old[moved] == self.keys.index, dtype=np.float32
            )
            self.sums += delta @ rows[moved]
        return len(moved)

    def candidate_pass(self, candidates, coeffs) -> int:
        """Reassign only ``candidates``; update the sums from the changed ones.

        Unlike Hamerly's original, there is no separate tightening of the upper bound
        first: in NumPy that costs nearly as much as the full distances, which also
        refresh the lower bound.
        """
        changed = 0
        for start in range(0, len(candidates), self.step):
            where = candidates[start : start + self.step]
            rows = np.take(self.items, where).view(np.float32).reshape(len(where), -1)
            labels, first, second, _ = _assign_block(rows, coeffs, self.keys, self.dist_buf)
            changed += self._move(labels, self.labels[where], rows)
            self._store(where, labels, first, second)
        return changed

    def candidates(self, centres) -> np.ndarray:
        """Points whose upper bound exceeds both the lower bound and half the gap to the
        nearest other centre: only these can change label."""
        if self.k == 1:
            return np.empty(0, dtype=np.intp)
        gaps = np.sqrt(_pairwise_sq(centres))
        np.fill_diagonal(gaps, np.inf)
        half_gap = (0.5 * gaps.min(axis=1)).astype(np.float32)
        bound = np.maximum(self.lower, np.take(half_gap, self.labels))
        return np.flatnonzero(self.upper > bound)

    def move_bounds(self, shift) -> None:
        """Loosen the bounds by how far the centres moved."""
        self.upper += np.take(shift.astype(np.float32), self.labels)
        self.lower -= np.float32(shift.max())

    def relocate_empty(self, coeffs) -> bool:
        """Give each empty cluster one of the points farthest from their own centre.

        Mirrors scikit-learn: points sitting on their centre (up to float32 rounding)
        never move, so with more clusters than distinct points nothing happens. Returns
        whether any point was moved.
        """
        empty = np.flatnonzero(self.sums[:, self.d] == 0)
        if len(empty) == 0:
            return False
        n = len(self.Xa)
        dist = np.empty(n, dtype=np.float32)
        for start in range(0, n, self.step):
            where = slice(start, start + self.step)
            dist[where] = np.einsum("ij,ij->i", self.Xa[where], coeffs[self.labels[where]])
        # Rounding error of the float32 expansion ||x||² - 2x·c + ||c||².
        noise = 2.0**-20 * (float(self.Xa[:, self.d + 1].max()) + float(coeffs[:, self.d].max()))
        far = np.argpartition(dist, -len(empty))[-len(empty) :]
        far = far[np.argsort(-dist[far], kind="stable")]
        far = far[dist[far] > noise]
        if len(far) == 0:
            return False
        for cluster, point in zip(empty, far, strict=False):
            row = self.Xa[point].astype(np.float64)
            self.sums[self.labels[point]] -= row
            self.sums[cluster] = row
            self.labels[point] = cluster
            self.upper[point] = 0.0
            self.lower[point] = 0.0
        return True

    def centres(self) -> np.ndarray:
        """Cluster means; an empty cluster sits on the largest one's centre (as sklearn)."""
        counts = self.sums[:, self.d]
        centres = self.sums[:, : self.d].copy()
        filled = counts > 0
        centres[filled] /= counts[filled, None]
        centres[~filled] = centres[np.argmax(counts)]
        return centres


def _pairwise_sq(centres: np.ndarray) -> np.ndarray:
    diff = centres[:, None, :] - centres[None, :, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def lloyd(prep: Prepared, centres: np.ndarray, max_iter: int, tol: float):
    """Run Lloyd's algorithm from ``centres`` (centred frame, float64).

    Parameters
    ----------
    prep : Prepared
    centres : ndarray of shape (n_clusters, n_features)
    max_iter : int
    tol : float
        Absolute tolerance on the summed squared centre shift.

    Returns
    -------
    centres : ndarray of shape (n_clusters, n_features)
        Final centres in the centred frame (float32 accuracy: see :func:`cluster_means`).
    labels : ndarray of shape (n_samples,)
        The assignment the final centres are the means of.
    n_iter : int
    """
    k = len(centres)
    state = _Bounds(prep, k)
    n = len(prep.Xa)
    centres = np.array(centres, dtype=np.float64)
    n_iter = 0
    for iteration in range(max_iter):
        coeffs = augment_centres(centres)
        candidates = None if iteration == 0 else state.candidates(centres)
        # Gathering scattered rows costs about as much as streaming all of them.
        if candidates is None or len(candidates) > n // 2:
            changed = state.full_pass(coeffs, first=candidates is None)
        else:
            changed = state.candidate_pass(candidates, coeffs)
        relocated = state.relocate_empty(coeffs)
        new_centres = state.centres()
        shift = np.sqrt(np.sum((new_centres - centres) ** 2, axis=1))
        centres = new_centres
        n_iter = iteration + 1
        if changed == 0 and not relocated:
            break  # strict convergence: the same labels give the same centres
        if np.sum(shift**2) <= tol:
            break
        state.move_bounds(shift)
    return centres, state.labels, n_iter


def cluster_means(X: np.ndarray, labels: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Float64 mean of the rows of ``X`` in each cluster (``fallback`` for empty ones).

    The loop accumulates centre sums in float32 blocks; one exact pass at the end gives
    the centres scikit-learn would report for the same assignment.
    """
    k, d = fallback.shape
    sums = np.zeros((k, d))
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    index = np.arange(k)[:, None]
    step = block_rows(k, d)
    onehot = np.empty((k, step))
    for start in range(0, len(X), step):
        block = X[start : start + step]
        members = onehot[:, : len(block)]
        np.equal(labels[start : start + step], index, out=members, casting="unsafe")
        sums += members @ block
    centres = fallback.copy()
    filled = counts > 0
    centres[filled] = sums[filled] / counts[filled, None]
    return centres


def nearest_centres(X: np.ndarray, centres: np.ndarray, *, distances: bool = True):
    """Float64 nearest centre of every row of ``X`` (and the squared distance to it).

    The arg-min uses ``||c'||² + 2 o·c' - 2 x·c'`` with ``c' = c - o`` centred on the
    centres' mean ``o``: it differs from ``||x - c||²`` by a per-row constant and stays
    accurate for data far from the origin, without centring ``X``. The distance itself
    is taken from the coordinate differences, so a point on its centre scores exactly 0.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int32
    sq_distances : ndarray of shape (n_samples,), float64, or None
        Only when ``distances`` is true.
    """
    n = len(X)
    k, d = centres.shape
    origin = centres.mean(axis=0)
    local = centres - origin
    coeffs = -2.0 * local
    offsets = np.einsum("ij,ij->i", local, local) + 2.0 * (local @ origin)
    keys = _Keys(k, np.int64)
    labels = np.empty(n, dtype=np.int32)
    sq = np.empty(n) if distances else None
    step = block_rows(k, d)
    for start in range(0, n, step):
        block = X[start : start + step]
        score = coeffs @ block.T
        # Shift every score to >= 0 so the keys' integer order is the float order.
        shift = offsets - np.min(score.min(axis=1) + offsets)
        score += shift[:, None]
        key = score.view(np.int64)
        key &= keys.high
        key |= keys.index
        nearest = key.min(axis=0) & keys.low
        labels[start : start + step] = nearest
        if distances:
            diff = block - np.take(centres, nearest, axis=0)
            sq[start : start + step] = np.einsum("ij,ij->i", diff, diff)
    return labels, sq


def distances_to_centres(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Float64 Euclidean distances of every row of ``X`` to every centre, (n, k)."""
    origin = centres.mean(axis=0)
    local = centres - origin
    csq = np.einsum("ij,ij->i", local, local)
    coeffs = -2.0 * local.T
    out = np.empty((len(X), len(centres)))
    step = block_rows(len(centres), X.shape[1])
    for start in range(0, len(X), step):
        block = X[start : start + step] - origin
        part = out[start : start + step]
        np.matmul(block, coeffs, out=part)
        part += csq
        part += np.einsum("ij,ij->i", block, block)[:, None]
        np.maximum(part, 0.0, out=part)
        np.sqrt(part, out=part)
    return out
