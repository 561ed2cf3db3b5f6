"""KMeans workloads for ``bench.ml_vs_sklearn``: mlcore against scikit-learn on blobs.

Both sides get the same data, ``n_clusters``, ``n_init=1`` and ``random_state`` (the two
libraries draw different seeds from it, so the starting centres differ; on these blobs
both reach the same optimum). Predict runs on a separate sample drawn with the training
set and held out of it.
"""

from __future__ import annotations

from functools import partial

from bench._workload import Workload

SEED = 0


def _blobs(n_samples: int, n_features: int, centers: int, n_test: int, std: float = 1.0):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(
        n_samples=n_samples + n_test,
        n_features=n_features,
        centers=centers,
        cluster_std=std,
        random_state=SEED,
    )
    return X[:n_samples], None, X[n_samples:], None


def _ours(k: int):
    from mlcore.cluster import KMeans

    return KMeans(n_clusters=k, n_init=1, random_state=SEED)


def _theirs(k: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=1, random_state=SEED)


def _workload(n: int, d: int, k: int, label: str, quick: bool = False, std: float = 1.0):
    kind = "blobs" if std == 1.0 else f"blobs std {std:g}"
    return Workload(
        name=f"KMeans {kind} {label} x {d}, k={k}",
        make_data=partial(_blobs, n, d, k, n // 10, std),
        ours=partial(_ours, k),
        theirs=partial(_theirs, k),
        quality="inertia",
        quick=quick,
    )


WORKLOADS: list[Workload] = [
    _workload(200_000, 8, 8, "200k"),
    _workload(1_000_000, 16, 16, "1M"),
    # Overlapping clusters: tens of Lloyd iterations instead of two or three.
    _workload(200_000, 8, 8, "200k", std=4.0),
    _workload(20_000, 8, 8, "20k", quick=True),
]
