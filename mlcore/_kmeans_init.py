"""Data preparation and k-means++ seeding for :class:`mlcore.cluster.KMeans` (private).

The search runs on one float32 copy of the data, centred on the feature means and
augmented with two columns, ``[x - mean, 1, ||x - mean||²]``. Multiplying a block of
those rows by ``[-2c, ||c||², 1]`` gives squared distances ``||x||² - 2x·c + ||c||²`` in a
single BLAS call, with no separate passes to add the norms. Centring keeps the expansion
accurate (the norms stay small), and float32 halves the memory traffic of every pass;
anything reported to the user (inertia, final labels) is recomputed in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def block_rows(k: int, width: int) -> int:
    """Rows per block for a (k × width) by (width × rows) product.

    OpenBLAS splits a product over threads once it exceeds 2**19 multiply-adds; for
    blocks this small the hand-off costs more than it saves (and stalls badly when
    another process holds a core), so blocks stay just under that size, which also keeps
    them in cache.
    """
    return int(np.clip((2**19 - 1) // max(k * width, 1), 64, 8192))


@dataclass
class Prepared:
    """One data set ready for repeated k-means runs (several seeds or several k).

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The validated data as given (float32 or float64), used for float64 results.
    Xa : ndarray of shape (n_samples, n_features + 2), float32
        Working copy ``[z, 1, ||z||²]`` with ``z = (x - mean) * scale``.
    mean : ndarray of shape (n_features,)
        Feature means (float64).
    scale : float
        A power of two, 1 unless the data's magnitude would overflow or underflow the
        float32 squared norms; scaling by it is exact and leaves k-means unchanged.
    mean_variance : float
        Mean of the per-feature variances in the working frame (the unit of ``tol``).
    """

    X: np.ndarray
    Xa: np.ndarray
    mean: np.ndarray
    scale: float
    mean_variance: float

    def to_work(self, centres: np.ndarray) -> np.ndarray:
        """Centres in the working frame (float64)."""
        return (np.asarray(centres, dtype=np.float64) - self.mean) * self.scale

    def from_work(self, centres: np.ndarray) -> np.ndarray:
        """Centres back in the data's frame."""
        return centres / self.scale + self.mean


# Squared norms beyond these bounds risk float32 overflow (distances add two of them)
# or underflow to zero; the data are then rescaled by a power of two.
_MAX_SQ_NORM = 2.0**100
_MIN_SQ_NORM = 2.0**-100


def prepare(X: np.ndarray) -> Prepared:
    """Build the float32 working copy of ``X`` and its statistics in one chunked pass."""
    n, d = X.shape
    mean = X.mean(axis=0, dtype=np.float64)
    Xa = np.empty((n, d + 2), dtype=np.float32)
    total, largest = _fill(X, Xa, mean, 1.0)
    scale = 1.0
    if largest > _MAX_SQ_NORM or 0.0 < largest < _MIN_SQ_NORM:
        scale = 2.0 ** -round(np.log2(largest) / 2)  # the largest norm becomes ~1
        _fill(X, Xa, mean, scale)
    # The mean of the per-feature variances is the mean squared norm over n_features.
    # total * scale * scale, not total * scale**2: for norms near 1e-316 the scale is about
    # 2**525 and its square overflows, while the product stays near 1.
    mean_variance = total * scale * scale / (n * d)
    return Prepared(X=X, Xa=Xa, mean=mean, scale=scale, mean_variance=mean_variance)


def _fill(X, Xa, mean, scale) -> tuple[float, float]:
    """Write the working copy; return the sum and the maximum of the unscaled sq. norms.

    Stops writing (but keeps measuring) once a norm is out of float32's safe range: the
    caller then fills again with a scale.
    """
    d = X.shape[1]
    total = largest = 0.0
    step = int(np.clip(2**16 // d, 256, 16384))  # a float64 block of ~512 KiB
    for start in range(0, len(X), step):
        centred = np.subtract(X[start : start + step], mean, dtype=np.float64)
        sq_norms = np.einsum("ij,ij->i", centred, centred)
        total += float(sq_norms.sum())
        largest = max(largest, float(sq_norms.max()))
        if scale == 1.0 and largest > _MAX_SQ_NORM:
            continue
        block = Xa[start : start + step]
        if scale != 1.0:
            # Norms measured again after scaling: scale * scale overflows for tiny data
            # (2**525 squared), and the unscaled ones there are subnormal, so imprecise.
            centred *= scale
            sq_norms = np.einsum("ij,ij->i", centred, centred)
        block[:, :d] = centred
        block[:, d] = 1.0
        block[:, d + 1] = sq_norms
    return total, largest


def augment_centres(centres: np.ndarray) -> np.ndarray:
    """Return ``[-2c, ||c||², 1]`` rows (float32) for centres given in the centred frame."""
    k, d = centres.shape
    out = np.empty((k, d + 2), dtype=np.float32)
    out[:, :d] = -2.0 * centres
    out[:, d] = np.einsum("ij,ij->i", centres, centres)
    out[:, d + 1] = 1.0
    return out


def kmeans_plusplus(Xa: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding (as scikit-learn): return the indices of the chosen rows.

    Each new centre is the best of ``2 + int(log k)`` candidates drawn with probability
    proportional to the squared distance to the nearest centre chosen so far, "best"
    meaning the lowest resulting potential (sum of those squared distances).

    Parameters
    ----------
    Xa : ndarray of shape (n_samples, n_features + 2), float32
        The augmented working copy from :func:`prepare`.
    n_clusters : int
    rng : numpy.random.Generator

    Returns
    -------
    indices : ndarray of shape (n_clusters,)
    """
    n, width = Xa.shape
    d = width - 2
    n_trials = 2 + int(np.log(n_clusters))
    step = block_rows(n_trials, width)
    starts = np.arange(0, n, step)
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = rng.integers(n)

    closest = np.empty(n, dtype=np.float32)
    # One contiguous (trials, rows) slab per block, so each product writes in place.
    distances = np.empty((len(starts), n_trials, step), dtype=np.float32)
    block_pots = np.empty((len(starts), n_trials))
    ones = np.ones(step, dtype=np.float32)
    scratch = np.empty((step, n_trials), dtype=np.float32)

    def candidate_distances(candidates: np.ndarray, first: bool) -> np.ndarray:
        # Squared distances to the candidates, capped by the current closest distance,
        # and per-block potentials so sampling never needs a cumulative sum over n.
        rows = Xa[candidates]
        coeffs = np.empty((width, len(candidates)), dtype=np.float32)
        coeffs[:d] = -2.0 * rows[:, :d].T
        coeffs[d] = rows[:, d + 1]
        coeffs[d + 1] = 1.0
        t = len(candidates)
        for b, start in enumerate(starts):
            rows = Xa[start : start + step]
            block = distances[b, :t, : len(rows)]
            # (rows × trials) is the faster product shape; the (trials × rows) copy makes
            # the minimum and the sums below run along contiguous rows.
            np.matmul(rows, coeffs, out=scratch[: len(rows), :t])
            np.copyto(block, scratch[: len(rows), :t].T)
            if not first:
                np.minimum(block, closest[start : start + step], out=block)
            block_pots[b, :t] = block @ ones[: block.shape[1]]
        return block_pots[:, :t].sum(axis=0)

    def keep(t: int) -> np.ndarray:
        # Rounding can make a distance slightly negative; sampling needs >= 0.
        np.maximum(distances[:, t, :].reshape(-1)[:n], 0.0, out=closest)
        return np.maximum(block_pots[:, t], 0.0)

    candidate_distances(indices[:1], first=True)
    sums = keep(0)
    closest[indices[0]] = 0.0

    for c in range(1, n_clusters):
        candidates = _sample(closest, sums, starts, step, n_trials, rng)
        pots = candidate_distances(candidates, first=False)
        best = int(np.argmin(pots))
        sums = keep(best)
        chosen = candidates[best]
        # A chosen point's own distance is exactly 0 (not a rounding residue), so it is
        # never drawn again.
        sums[chosen // step] -= closest[chosen]
        closest[chosen] = 0.0
        indices[c] = chosen
    return indices


def _sample(closest, sums, starts, step, n_trials, rng) -> np.ndarray:
    """Draw rows with probability ∝ ``closest`` using block sums, then one block's cumsum."""
    n = len(closest)
    cumulative = np.cumsum(sums)
    total = cumulative[-1]
    if not total > 0.0:
        # Every point coincides with a chosen centre (fewer distinct points than
        # clusters): any point is as good as another.
        return rng.integers(n, size=n_trials)
    targets = rng.random(n_trials) * total
    blocks = np.minimum(np.searchsorted(cumulative, targets), len(starts) - 1)
    chosen = np.empty(n_trials, dtype=np.intp)
    for i, (block, target) in enumerate(zip(blocks, targets, strict=True)):
        start = starts[block]
        before = cumulative[block - 1] if block > 0 else 0.0
        local = np.cumsum(closest[start : start + step], dtype=np.float64)
        j = np.searchsorted(local, target - before)
        chosen[i] = start + min(j, len(local) - 1)
    return chosen
