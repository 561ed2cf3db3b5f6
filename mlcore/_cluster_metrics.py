"""Clustering metrics: silhouette (exact or sampled) and inertia (private module).

Public names are re-exported by :mod:`mlcore.metrics`. The silhouette needs every
pairwise distance, so it is computed in small row blocks: each block of
distances is reduced at once to per-cluster distance sums (one product with the one-hot
label matrix), and several labelings of the same rows can share the distances (which
is how :func:`mlcore.cluster.suggest_k` scores many k for the price of one).
"""

from __future__ import annotations

import numbers

import numpy as np

from mlcore.base import check_array, check_random_state

_BLOCK_VALUES = 2**21  # float64 distances per block (16 MiB)
_BLAS_SINGLE_THREAD = 2**19 - 1  # multiply-adds below which OpenBLAS uses one thread


def _codes(labels, n_samples: int) -> tuple[np.ndarray, int]:
    """Encode cluster labels (numbers or strings) as 0..k-1; return (codes, k)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}.")
    if labels.dtype == object:
        labels = labels.astype(str)
    if len(labels) != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{n_samples}, {len(labels)}]"
        )
    classes, codes = np.unique(labels, return_inverse=True)
    return codes.ravel(), len(classes)


def _check_n_labels(n_labels: int, n_samples: int) -> None:
    if not 2 <= n_labels <= n_samples - 1:
        raise ValueError(
            f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 (inclusive)"
        )


def _silhouette_values(X: np.ndarray, labelings: list[tuple[np.ndarray, int]]):
    """Silhouette of every sample under each ``(codes, k)`` labeling of the rows of X."""
    n = len(X)
    X = X - X.mean(axis=0)  # the expansion below loses digits far from the origin
    sq_norms = np.einsum("ij,ij->i", X, X)
    onehots = [np.equal.outer(codes, np.arange(k)).astype(np.float64) for codes, k in labelings]
    sums = [np.empty((n, k)) for _, k in labelings]
    # Blocks small enough that every product stays under OpenBLAS's threading threshold:
    # many small multithreaded calls stall badly on a busy machine.
    widest = max([X.shape[1], *(k for _, k in labelings)])
    step = int(np.clip(_BLAS_SINGLE_THREAD // (n * widest), 1, max(1, _BLOCK_VALUES // n)))
    for start in range(0, n, step):
        stop = min(start + step, n)
        dist = X[start:stop] @ X.T
        dist *= -2.0
        dist += sq_norms[start:stop, None]
        dist += sq_norms
        np.maximum(dist, 0.0, out=dist)
        dist[np.arange(stop - start), np.arange(start, stop)] = 0.0  # exact self-distance
        np.sqrt(dist, out=dist)
        for total, onehot in zip(sums, onehots, strict=True):
            np.matmul(dist, onehot, out=total[start:stop])
    return [
        _from_cluster_sums(total, codes, k)
        for total, (codes, k) in zip(sums, labelings, strict=True)
    ]


def _from_cluster_sums(total: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    rows = np.arange(len(codes))
    own_count = counts[codes] - 1.0
    intra = np.divide(total[rows, codes], own_count, out=np.zeros(len(codes)), where=own_count > 0)
    mean = np.divide(total, counts, out=np.full_like(total, np.inf), where=counts > 0)
    mean[rows, codes] = np.inf
    inter = mean.min(axis=1)
    largest = np.maximum(intra, inter)
    values = np.divide(inter - intra, largest, out=np.zeros(len(codes)), where=largest > 0)
    values[own_count == 0] = 0.0  # a sample alone in its cluster scores 0
    return values


def _check_metric(metric) -> None:
    if metric != "euclidean":
        raise ValueError(f"Only metric='euclidean' is supported, got {metric!r}.")


def silhouette_samples(X, labels, *, metric="euclidean"):
    """Silhouette coefficient of each sample, ``(b - a) / max(a, b)``.

    ``a`` is the mean distance to the other members of the sample's cluster, ``b`` the
    mean distance to the members of the nearest other cluster; samples alone in their
    cluster score 0. Memory stays bounded (row blocks); time is quadratic in n_samples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster labels (numbers or strings); between 2 and n_samples - 1 distinct.
    metric : {"euclidean"}, default="euclidean"

    Returns
    -------
    silhouette : ndarray of shape (n_samples,)
    """
    _check_metric(metric)
    X = check_array(X)
    codes, k = _codes(labels, len(X))
    _check_n_labels(k, len(X))
    return _silhouette_values(X, [(codes, k)])[0]


def silhouette_score(X, labels, *, metric="euclidean", sample_size=None, random_state=None):
    """Mean silhouette coefficient over all samples (or a random subset).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    metric : {"euclidean"}, default="euclidean"
    sample_size : int, optional
        Score a random subset of this many samples (as scikit-learn); by default all.
    random_state : int, numpy.random.Generator or None
        Seed of the subset.

    Returns
    -------
    score : float
        Between -1 (wrong clusters) and 1 (dense, well separated clusters).

    See Also
    --------
    sampled_silhouette_score : samples only above a size limit and reports the size.
    """
    _check_metric(metric)
    X = check_array(X)
    codes, k = _codes(labels, len(X))
    if sample_size is not None:
        if not isinstance(sample_size, numbers.Integral) or sample_size < 1:
            raise ValueError(f"sample_size must be a positive integer, got {sample_size!r}.")
        index = check_random_state(random_state).permutation(len(X))[:sample_size]
        X = X[index]
        codes, k = _codes(codes[index], len(X))
    _check_n_labels(k, len(X))
    return float(_silhouette_values(X, [(codes, k)])[0].mean())


def sampled_silhouette_score(X, labels, *, max_samples=10_000, random_state=None):
    """Mean silhouette, on a random subset when there are more than ``max_samples`` rows.

    The exact score is quadratic in the number of rows; a random subset of a few
    thousand rows estimates it closely. Use this where the data size is unknown (a web
    request) and show ``n_used`` next to the score.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    max_samples : int, default=10000
        Largest number of rows scored.
    random_state : int, numpy.random.Generator or None
        Seed of the subset.

    Returns
    -------
    score : float
    n_used : int
        Number of rows the score was computed on.

    Raises
    ------
    ValueError
        If the (sampled) labels have fewer than 2 or more than n_used - 1 distinct values.
    """
    if not isinstance(max_samples, numbers.Integral) or max_samples < 2:
        raise ValueError(f"max_samples must be an integer >= 2, got {max_samples!r}.")
    X = check_array(X)
    codes, k = _codes(labels, len(X))
    if len(X) > max_samples:
        index = check_random_state(random_state).choice(len(X), max_samples, replace=False)
        X = X[index]
        codes, k = _codes(codes[index], len(X))
    _check_n_labels(k, len(X))
    return float(_silhouette_values(X, [(codes, k)])[0].mean()), len(X)


def silhouette_scores_shared(X: np.ndarray, labelings: list) -> list[float]:
    """Mean silhouette of several labelings of the same rows, sharing the distances.

    A labeling with fewer than 2 or more than n - 1 distinct labels scores NaN.
    """
    X = check_array(X)
    encoded = [_codes(labels, len(X)) for labels in labelings]
    valid = [i for i, (_, k) in enumerate(encoded) if 2 <= k <= len(X) - 1]
    scores = [float("nan")] * len(encoded)
    values = _silhouette_values(X, [encoded[i] for i in valid]) if valid else []
    for i, sample_values in zip(valid, values, strict=True):
        scores[i] = float(sample_values.mean())
    return scores


def inertia(X, labels, centers) -> float:
    """Sum of squared distances of the samples to their cluster's centre.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Integer index of each sample's centre in ``centers``.
    centers : array-like of shape (n_clusters, n_features)

    Returns
    -------
    inertia : float
    """
    X = check_array(X)
    centers = check_array(centers, name="centers")
    labels = np.asarray(labels)
    if labels.shape != (len(X),):
        raise ValueError(f"labels must have shape ({len(X)},), got {labels.shape}.")
    if labels.dtype.kind not in "iu" or (
        len(labels) and not 0 <= labels.min() <= labels.max() < len(centers)
    ):
        raise ValueError(f"labels must be integers in [0, {len(centers)}).")
    if centers.shape[1] != X.shape[1]:
        raise ValueError(f"centers have {centers.shape[1]} features but X has {X.shape[1]}.")
    total = 0.0
    step = max(1, 2**16 // X.shape[1])
    for start in range(0, len(X), step):
        diff = X[start : start + step] - centers[labels[start : start + step]]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total
