"""k-means clustering and a helper that suggests the number of clusters.

:class:`KMeans` follows scikit-learn's estimator (greedy k-means++, Lloyd iterations,
``tol`` relative to the data's variance, a final assignment consistent with the final
centres). The search itself runs in float32 with Hamerly bounds (see
``mlcore._kmeans_lloyd``); reported labels, inertia, ``predict`` and ``transform`` are
float64.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from mlcore._cluster_metrics import silhouette_scores_shared
from mlcore._kmeans_init import kmeans_plusplus, prepare
from mlcore._kmeans_lloyd import cluster_means, distances_to_centres, lloyd, nearest_centres
from mlcore.base import (
    BaseEstimator,
    ClusterMixin,
    check_array,
    check_is_fitted,
    check_n_features,
    check_random_state,
)

__all__ = ["KMeans", "KSelection", "suggest_k"]


def _check_data(X, name: str = "X") -> np.ndarray:
    """Validate ``X``, keeping float32 input as float32 (no copy)."""
    dtype = getattr(X, "dtype", None)
    if isinstance(X, np.ndarray) and dtype in (np.float32, np.float64):
        return check_array(X, dtype=dtype, name=name)
    return check_array(X, name=name)


class KMeans(ClusterMixin, BaseEstimator):
    """K-means clustering (Lloyd's algorithm with greedy k-means++ seeding).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), \
default="k-means++"
        Seeding: greedy k-means++ (``2 + int(log k)`` candidates per centre, the best
        kept), ``n_clusters`` distinct random rows, or explicit initial centres.
    n_init : "auto" or int, default="auto"
        Number of seeded runs; the one with the lowest inertia is kept. ``"auto"`` is 1
        for k-means++ and explicit centres and 10 for ``"random"``. Explicit centres
        always run once.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run.
    tol : float, default=1e-4
        Convergence threshold on the summed squared centre shift, relative to the mean
        per-feature variance of ``X`` (as scikit-learn).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the initialisation; the same seed gives the same model.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Index of the nearest final centre of each training sample.
    inertia_ : float
        Sum of squared distances of the samples to their nearest centre.
    n_iter_ : int
        Lloyd iterations of the kept run.
    n_features_in_ : int

    Notes
    -----
    With fewer distinct points than clusters some clusters stay empty (their centres
    duplicate others); no warning is raised.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [10.0, 2.0], [10.0, 4.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_[:, 0].tolist())
    [1.0, 10.0]
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_params(self, X: np.ndarray):
        """Validate the parameters against ``X``; return (init centres or None, n_init)."""
        n_samples, n_features = X.shape
        k = self.n_clusters
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_clusters must be an integer >= 1, got {k!r}.")
        if k > n_samples:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={k}.")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}.")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}.")
        centres = None
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(
                    f"init must be 'k-means++', 'random' or an array of centres, got {self.init!r}."
                )
        else:
            centres = check_array(self.init, name="init")
            if centres.shape != (k, n_features):
                raise ValueError(
                    f"init should be of shape ({k}, {n_features}) "
                    f"(n_clusters, n_features), got {centres.shape}."
                )
        if self.n_init == "auto":
            n_init = 10 if isinstance(self.init, str) and self.init == "random" else 1
        elif isinstance(self.n_init, numbers.Integral) and self.n_init >= 1:
            n_init = int(self.n_init)
        else:
            raise ValueError(f"n_init must be 'auto' or an integer >= 1, got {self.n_init!r}.")
        if centres is not None:
            n_init = 1
        return centres, n_init

    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : None
            Accepted for signature compatibility; weights are not supported.

        Returns
        -------
        self : KMeans
        """
        if sample_weight is not None:
            raise ValueError("KMeans does not support sample_weight.")
        X = _check_data(X)
        init_centres, n_init = self._check_params(X)
        rng = check_random_state(self.random_state)
        prep = prepare(X)
        tol = prep.mean_variance * float(self.tol)
        best = None
        for _ in range(n_init):
            start = _initial_centres(self.init, init_centres, X, prep, self.n_clusters, rng)
            centres, labels, n_iter = lloyd(prep, prep.to_work(start), int(self.max_iter), tol)
            centres = cluster_means(X, labels, prep.from_work(centres))
            labels, sq = nearest_centres(X, centres)
            inertia = float(sq.sum())
            if best is None or inertia < best[2]:
                best = (centres, labels, inertia, n_iter)
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted_X(self, X) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        X = _check_data(X)
        check_n_features(self, X)
        return X

    def predict(self, X):
        """Index of the nearest centre of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
        """
        X = self._check_fitted_X(X)
        return nearest_centres(X, self.cluster_centers_, distances=False)[0]

    def transform(self, X):
        """Euclidean distance of each sample to every centre.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        return distances_to_centres(self._check_fitted_X(X), self.cluster_centers_)

    def fit_transform(self, X, y=None):
        """Fit, then return the distances of the training samples to the centres."""
        return self.fit(X).transform(X)

    def score(self, X, y=None) -> float:
        """Opposite of the inertia of ``X`` against the fitted centres (higher is better)."""
        return -float(nearest_centres(self._check_fitted_X(X), self.cluster_centers_)[1].sum())


def _initial_centres(init, init_centres, X, prep, k, rng) -> np.ndarray:
    """Starting centres (original frame, float64) for one run."""
    if init_centres is not None:
        return init_centres.copy()
    if isinstance(init, str) and init == "random":
        index = rng.choice(len(X), size=k, replace=False)
    else:
        index = kmeans_plusplus(prep.Xa, k, rng)
    return X[index].astype(np.float64)


@dataclass(frozen=True)
class KSelection:
    """Result of :func:`suggest_k`."""

    ks: list[int]
    inertias: list[float]
    silhouettes: list[float]
    elbow_k: int | None
    best_silhouette_k: int | None
    suggested_k: int
    n_silhouette_samples: int


def suggest_k(
    X,
    k_range=None,
    *,
    k_max=None,
    random_state=None,
    sample_size=3000,
    max_iter=300,
    tol=1e-4,
) -> KSelection:
    """Fit k-means for several k and suggest one (the UI's "suggest k").

    Each k gets one k-means++ run (as ``KMeans(n_init="auto")``) on all rows. The
    silhouette of every k is computed on the same random subset of ``sample_size`` rows,
    sharing one set of pairwise distances, so the whole call stays fast on 10⁵ rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    k_range : iterable of int, optional
        Candidate k; by default ``range(2, k_max + 1)`` with ``k_max=10``. Values above
        n_samples are dropped.
    k_max : int, optional
        Largest k of the default range.
    random_state : int, numpy.random.Generator or None
    sample_size : int, default=3000
        Rows used for the silhouette (all rows when there are fewer).
    max_iter, tol
        As in :class:`KMeans`.

    Returns
    -------
    selection : KSelection
        ``ks``, ``inertias`` and ``silhouettes`` (NaN where undefined, e.g. k=1),
        ``elbow_k`` (knee of the inertia curve, Kneedle on the normalised curve, None
        when the curve has no clear knee), ``best_silhouette_k``, ``suggested_k`` (the
        best silhouette; the elbow, then the smallest k, when no silhouette is defined)
        and ``n_silhouette_samples``.
    """
    X = _check_data(X)
    n = len(X)
    if k_range is None:
        k_range = range(2, (10 if k_max is None else int(k_max)) + 1)
    ks = sorted({int(k) for k in k_range if 1 <= int(k) <= n})
    if not ks:
        raise ValueError(f"k_range has no k between 1 and n_samples={n}.")
    if not isinstance(sample_size, numbers.Integral) or sample_size < 2:
        raise ValueError(f"sample_size must be an integer >= 2, got {sample_size!r}.")
    rng = check_random_state(random_state)
    prep = prepare(X)
    sample = np.sort(rng.choice(n, sample_size, replace=False)) if n > sample_size else None
    inertias, labelings = [], []
    for k in ks:
        start = X[kmeans_plusplus(prep.Xa, k, rng)].astype(np.float64)
        centres, labels, _ = lloyd(prep, prep.to_work(start), max_iter, prep.mean_variance * tol)
        labels, sq = nearest_centres(X, cluster_means(X, labels, prep.from_work(centres)))
        inertias.append(float(sq.sum()))
        labelings.append(labels if sample is None else labels[sample])
    silhouettes = silhouette_scores_shared(X if sample is None else X[sample], labelings)
    elbow = _kneedle_elbow(ks, inertias)
    finite = [i for i, s in enumerate(silhouettes) if np.isfinite(s)]
    best = ks[max(finite, key=lambda i: silhouettes[i])] if finite else None
    suggested = best if best is not None else (elbow if elbow is not None else ks[0])
    return KSelection(
        ks=ks,
        inertias=inertias,
        silhouettes=silhouettes,
        elbow_k=elbow,
        best_silhouette_k=best,
        suggested_k=suggested,
        n_silhouette_samples=n if sample is None else len(sample),
    )


def _kneedle_elbow(ks, inertias, sensitivity: float = 1.0) -> int | None:
    """Knee of a decreasing inertia curve (Satopää et al.'s Kneedle, offline).

    Both axes are scaled to [0, 1]; the difference curve ``(1 - y) - x`` measures how
    far the curve bends below the chord joining its ends. A local maximum of it is the
    knee once the curve later drops ``sensitivity`` times the mean x-step below it.
    """
    if len(ks) < 3:
        return None
    x = np.asarray(ks, dtype=np.float64)
    y = np.asarray(inertias, dtype=np.float64)
    span = y.max() - y.min()
    if not span > 0:
        return None
    x = (x - x[0]) / (x[-1] - x[0])
    diff = (1.0 - (y - y.min()) / span) - x
    threshold_step = sensitivity * float(np.mean(np.diff(x)))
    for i in range(1, len(ks) - 1):
        if not (diff[i] >= diff[i - 1] and diff[i] > diff[i + 1]):
            continue
        threshold = diff[i] - threshold_step
        for j in range(i + 1, len(ks)):
            if diff[j] > diff[i]:
                break  # a higher maximum follows: judge that one instead
            if diff[j] < threshold:
                return int(ks[i])
    return None
