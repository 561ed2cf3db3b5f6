"""Decision tree and random forest workloads for ``bench.ml_vs_sklearn``.

Both sides get the same ``make_classification`` data (3 classes, 10 informative of 20
features), the same parameters and ``random_state``; quality is accuracy on a held-out
split drawn with the training set (the last 20 % of the generated rows).
"""

from __future__ import annotations

from functools import partial

from bench._workload import Workload

SEED = 0


def _classification(n_train: int, n_features: int = 20, n_classes: int = 3):
    from sklearn.datasets import make_classification

    n_test = n_train // 4
    X, y = make_classification(
        n_samples=n_train + n_test,
        n_features=n_features,
        n_informative=10,
        n_classes=n_classes,
        random_state=SEED,
    )
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _tree(side: str, max_depth):
    if side == "ours":
        from mlcore.tree import DecisionTreeClassifier
    else:
        from sklearn.tree import DecisionTreeClassifier
    return DecisionTreeClassifier(max_depth=max_depth, random_state=SEED)


def _forest(side: str, n_estimators: int, n_jobs: int):
    if side == "ours":
        from mlcore.ensemble import RandomForestClassifier
    else:
        from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(n_estimators=n_estimators, n_jobs=n_jobs, random_state=SEED)


def _tree_workload(n: int, label: str, max_depth=None, quick: bool = False) -> Workload:
    depth = "" if max_depth is None else f", depth {max_depth}"
    return Workload(
        name=f"DecisionTree {label} x 20, 3 cls{depth}",
        make_data=partial(_classification, n),
        ours=partial(_tree, "ours", max_depth),
        theirs=partial(_tree, "sklearn", max_depth),
        quality="accuracy",
        quick=quick,
    )


def _forest_workload(n: int, label: str, trees: int, n_jobs: int, quick: bool = False):
    return Workload(
        name=f"RandomForest {trees} trees {label} x 20, n_jobs={n_jobs}",
        make_data=partial(_classification, n),
        ours=partial(_forest, "ours", trees, n_jobs),
        theirs=partial(_forest, "sklearn", trees, n_jobs),
        quality="accuracy",
        quick=quick,
    )


WORKLOADS: list[Workload] = [
    _tree_workload(200_000, "200k"),
    _tree_workload(200_000, "200k", max_depth=12),
    _forest_workload(50_000, "50k", 100, n_jobs=1),
    _forest_workload(50_000, "50k", 100, n_jobs=2),
    _tree_workload(20_000, "20k", quick=True),
    _tree_workload(20_000, "20k", max_depth=12, quick=True),
    _forest_workload(5_000, "5k", 20, n_jobs=1, quick=True),
    _forest_workload(5_000, "5k", 20, n_jobs=2, quick=True),
]
