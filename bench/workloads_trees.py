"""Decision tree and random forest workloads for ``bench.ml_vs_sklearn``.

Classification: both sides get the same ``make_classification`` data (3 classes, 10
informative of 20 features), the same parameters and ``random_state``; quality is
accuracy on a held-out split drawn with the training set (the last 20 % of the rows).

Long-tailed regression (issue 13): 19 features, normal, lognormal and Pareto columns,
and a target ``exp(x0)`` plus noise, so the rows that matter most for the squared error
sit in the tails of ``x0`` and ``y``; quality is R² on the held-out rows. Both forests
use all features per split (``max_features=1.0``), as scikit-learn's regressor does.
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


def _long_tailed(n_train: int, n_features: int = 19):
    import numpy as np

    rng = np.random.default_rng(SEED)
    n = n_train + n_train // 4
    columns = [rng.standard_normal(n)]
    for j in range(1, n_features):
        kind = j % 3
        if kind == 0:
            columns.append(rng.standard_normal(n))
        elif kind == 1:
            columns.append(rng.lognormal(0.0, 1.5, n))
        else:
            columns.append(rng.pareto(1.5, n))
    X = np.column_stack(columns)
    # exp(x0) spans three orders of magnitude; x3 and the lognormal x1 add a little signal.
    y = np.exp(X[:, 0]) + 0.3 * X[:, 3] + 0.1 * np.log1p(X[:, 1]) + rng.normal(0.0, 0.2, n)
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


def _regressor(side: str, n_estimators, n_jobs: int):
    if side == "ours":
        from mlcore.ensemble import RandomForestRegressor
        from mlcore.tree import DecisionTreeRegressor
    else:
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.tree import DecisionTreeRegressor
    if n_estimators is None:
        return DecisionTreeRegressor(random_state=SEED)
    return RandomForestRegressor(
        n_estimators=n_estimators, max_features=1.0, n_jobs=n_jobs, random_state=SEED
    )


def _regression_workload(n: int, label: str, trees=None, n_jobs: int = 1, quick=False):
    model = "DecisionTreeRegressor" if trees is None else f"RandomForestRegr {trees} trees"
    jobs = "" if trees is None else f", n_jobs={n_jobs}"
    return Workload(
        name=f"{model} {label} x 19, long tail{jobs}",
        make_data=partial(_long_tailed, n),
        ours=partial(_regressor, "ours", trees, n_jobs),
        theirs=partial(_regressor, "sklearn", trees, n_jobs),
        quality="r2",
        quick=quick,
    )


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
    _regression_workload(300_000, "300k"),
    _regression_workload(300_000, "300k", trees=20, n_jobs=2),
    _tree_workload(20_000, "20k", quick=True),
    _tree_workload(20_000, "20k", max_depth=12, quick=True),
    _forest_workload(5_000, "5k", 20, n_jobs=1, quick=True),
    _forest_workload(5_000, "5k", 20, n_jobs=2, quick=True),
    _regression_workload(20_000, "20k", quick=True),
    _regression_workload(5_000, "5k", trees=10, n_jobs=2, quick=True),
]
