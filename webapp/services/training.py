"""The training job: load the data, split, fit with progress, measure, register a model.

:func:`execute_run` is what a worker runs (an in-process thread or an RQ worker, see
:mod:`webapp.jobs`). It claims the queued run, reports progress to the run's row (each
report also checks the cancel flag, so a cancelled run stops at its next report), and ends
the run ``succeeded`` (with a new model version), ``failed`` (with a readable reason) or
``cancelled``. Metrics are measured on the held-out test split; training-set figures go in
``train_metrics``. What the plots need is stored in ``run.results`` (see
:mod:`webapp.services.plots`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlcore import metrics as mlmetrics
from mlcore import persistence
from mlcore.cluster import KMeans, suggest_k
from mlcore.ensemble import RandomForestClassifier, RandomForestRegressor
from mlcore.model_selection import train_test_split
from mlcore.preprocessing import TabularPreprocessor, prepare_target
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor, tree_to_dict
from webapp.db import utcnow
from webapp.models import Dataset, ModelVersion, Run
from webapp.models.ml import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from webapp.services import datasets as dataset_service
from webapp.services import explain
from webapp.services.runs import finish_run

log = logging.getLogger(__name__)

MAX_PLOT_POINTS = 2000
MAX_K_CURVE = 10
MAX_RULES_CHARS = 200_000
MAX_IMPORTANCES = 20


class RunCancelled(Exception):
    """The user cancelled the run; raised by a progress report."""


class TrainingError(ValueError):
    """A reason the run cannot train, shown to the user as is."""


# -- progress --------------------------------------------------------------------------------


class Progress:
    """Writes progress to the run's row, at most every ``min_interval`` seconds, and raises
    :class:`RunCancelled` when the user asked to cancel."""

    def __init__(self, session: Session, run_id: int, min_interval: float = 0.3):
        self.session, self.run_id, self.min_interval = session, run_id, min_interval
        self._last = 0.0

    def __call__(self, fraction: float, stage: str | None = None, *, force=False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        # The heartbeat is stamped by the job's own thread (webapp.jobs), not here: a long
        # step between two reports must not look like a dead worker.
        values = {"progress": round(min(max(fraction, 0.0), 1.0), 4)}
        if stage:
            values["stage"] = stage[:120]
        where = (Run.id == self.run_id, Run.status == RUNNING)
        self.session.execute(update(Run).where(*where).values(**values))
        self.session.commit()
        cancel = self.session.scalar(select(Run.cancel_requested).where(Run.id == self.run_id))
        self.session.commit()  # end the read, so the next one sees fresh data (SQLite WAL)
        if cancel:
            raise RunCancelled()


# -- the job ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    model: object
    preprocessor: TabularPreprocessor
    metrics: dict
    train_metrics: dict
    results: dict
    classes: list | None = None
    extra: dict = field(default_factory=dict)


def claim_run(*, session: Session, run_id: int, worker: str) -> bool:
    """Mark a queued run running for ``worker``; False if it is no longer queued."""
    now = utcnow()
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == QUEUED)
        .values(
            status=RUNNING,
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
            stage="Starting",
        )
    )
    session.commit()
    return result.rowcount == 1


def execute_run(*, session: Session, run_id: int, worker: str) -> str | None:
    """Run the job of ``run_id``; returns its final status (None if it was not queued)."""
    if not claim_run(session=session, run_id=run_id, worker=worker):
        return None
    progress = Progress(session, run_id)
    try:
        run = session.get(Run, run_id)
        outcome = train(session=session, run=run, progress=progress)
        progress(0.95, "Saving the model", force=True)
        _register(session=session, run=run, outcome=outcome)
        return SUCCEEDED
    except RunCancelled:
        session.rollback()
        finish_run(session, run_id, CANCELLED, only_from=(RUNNING,))
        return CANCELLED
    except ValueError as exc:
        session.rollback()
        if not _speaks_to_users(exc):
            log.exception("Run %s failed", run_id)
        finish_run(session, run_id, FAILED, error=_user_message(exc, run_id))
        return FAILED
    except Exception:
        log.exception("Run %s failed", run_id)
        session.rollback()
        finish_run(session, run_id, FAILED, error=UNEXPECTED.format(run_id=run_id))
        return FAILED


# What users read when training failed for a reason that is not about their data. The
# exception's own text stays in the server log: it may name hosts, paths or connection
# strings ("Error 111 connecting to 10.0.0.5:6379").
UNEXPECTED = (
    "Training failed unexpectedly: this is a problem on the server, not in your data. Retry "
    "the run; if it fails again, tell the administrator (the log names run {run_id})."
)
# Modules whose ValueErrors explain a problem with the user's data or settings, in words
# written for them (mlcore's checks and ours); anything else may be an internal detail.
_READABLE_MODULES = ("mlcore", "webapp.services")


def _speaks_to_users(exc: BaseException) -> bool:
    if isinstance(exc, TrainingError):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "") if tb is not None else ""
    return module.startswith(_READABLE_MODULES) and bool(str(exc))


def _user_message(exc: BaseException, run_id: int) -> str:
    return str(exc) if _speaks_to_users(exc) else UNEXPECTED.format(run_id=run_id)


def _register(*, session: Session, run: Run, outcome: Outcome) -> None:
    """Store the model as the next version of ``run.model_name`` and finish the run."""
    metadata = {
        "algorithm": run.algorithm,
        "task": run.task,
        "target": run.target,
        "features": run.features,
        "metrics": outcome.metrics,
        "run_id": run.id,
    }
    blob = persistence.dumps(outcome.model, preprocessor=outcome.preprocessor, metadata=metadata)
    for attempt in range(3):  # two runs of the same model may finish at once
        latest = session.scalar(
            select(ModelVersion.version)
            .where(ModelVersion.owner_id == run.owner_id, ModelVersion.name == run.model_name)
            .order_by(ModelVersion.version.desc())
            .limit(1)
        )
        version = ModelVersion(
            owner_id=run.owner_id,
            name=run.model_name,
            version=(latest or 0) + 1,
            run_id=run.id,
            algorithm=run.algorithm,
            task=run.task,
            target=run.target,
            features=run.features,
            params={**run.params, **outcome.extra.get("params", {})},
            metrics=outcome.metrics,
            input_schema=outcome.preprocessor.schema_,
            classes=outcome.classes,
            file_size=len(blob),
            file=blob,
        )
        session.add(version)
        run.status, run.progress, run.stage = SUCCEEDED, 1.0, "Done"
        run.metrics, run.train_metrics = outcome.metrics, outcome.train_metrics
        run.results, run.finished_at, run.error = outcome.results, utcnow(), None
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
            run = session.get(Run, run.id)


def train(*, session: Session, run: Run, progress: Progress) -> Outcome:
    progress(0.02, "Loading the data", force=True)
    dataset = session.get(Dataset, run.dataset_id) if run.dataset_id else None
    if dataset is None:
        raise TrainingError("The data set of this run was deleted.")
    frame = dataset_service.load_dataframe(session=session, dataset=dataset)
    needed = [*run.features, *([run.target] if run.target else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise TrainingError(
            f"The data set no longer has the column(s) {', '.join(map(repr, missing))}."
        )
    if run.algorithm == "kmeans":
        return _train_kmeans(frame, run, progress)
    return _train_supervised(frame, run, progress)


# -- KMeans ----------------------------------------------------------------------------------


def _train_kmeans(frame: pd.DataFrame, run: Run, progress: Progress) -> Outcome:
    df = frame[run.features]
    n = len(df)
    rows = np.arange(n)
    train_rows, test_rows = train_test_split(
        rows, test_size=run.test_size, random_state=run.random_state
    )
    progress(0.1, "Preparing the features", force=True)
    pre = TabularPreprocessor(scale=True).fit(df.iloc[train_rows])
    X = pre.transform(df)
    X_train, X_test = X[train_rows], X[test_rows]
    k = run.params["k"]
    curves = None
    k_max = min(MAX_K_CURVE, len(X_train) - 1)
    if k_max >= 2:
        progress(0.2, "Computing the elbow and silhouette curves", force=True)
        selection = suggest_k(X_train, k_range=range(2, k_max + 1), random_state=run.random_state)
        curves = {
            "ks": selection.ks,
            # Per row, like the run's metric: comparable across data sets and splits.
            "mean_sq_distances": [v / len(X_train) for v in selection.inertias],
            "silhouettes": selection.silhouettes,
            "elbow_k": selection.elbow_k,
            "suggested_k": selection.suggested_k,
        }
        if run.params.get("suggest_k"):
            k = selection.suggested_k
    if k > len(X_train):
        raise TrainingError(f"k={k} is larger than the {len(X_train)} training rows.")
    progress(0.6, f"Fitting KMeans with k={k}", force=True)
    model = KMeans(n_clusters=k, random_state=run.random_state).fit(X_train)
    progress(0.8, "Measuring the clusters", force=True)
    labels = model.predict(X)
    test_labels = labels[test_rows]
    # Inertia is a sum over rows; per row, test and training figures can be compared.
    metrics = {
        "mean_sq_distance": -model.score(X_test) / len(X_test),
        "silhouette": _silhouette(X_test, test_labels, run.random_state),
    }
    train_metrics = {
        "mean_sq_distance": float(model.inertia_) / len(X_train),
        "silhouette": _silhouette(X_train, labels[train_rows], run.random_state),
    }
    if curves is not None:
        curves["chosen_k"] = k
    results = {
        "k": k,
        "n_train": len(train_rows),
        "n_test": len(test_rows),
        "features_used": [c["name"] for c in pre.schema_],
        "dropped": pre.dropped_,
        "scatter": _cluster_scatter(df, X, labels, model, pre, run.random_state),
        "curves": curves,
        "sizes": np.bincount(labels, minlength=k).tolist(),
        "centroids": _centroid_table(df, labels, k, pre),
    }
    outcome = Outcome(model, pre, _clean(metrics), _clean(train_metrics), _clean(results))
    outcome.extra["params"] = {"k": k}  # the k used, also when it was suggested
    return outcome


def _silhouette(X: np.ndarray, labels: np.ndarray, seed: int) -> float | None:
    if not 2 <= len(np.unique(labels)) < len(labels):
        return None  # undefined for one cluster, or one point per cluster
    score, _ = mlmetrics.sampled_silhouette_score(X, labels, max_samples=5000, random_state=seed)
    return float(score)


def _sample(n: int, seed: int, limit: int = MAX_PLOT_POINTS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _cluster_scatter(df, X, labels, model, pre, seed) -> dict:
    """Points and centroids in 2-D: the two features themselves when there are exactly two
    numeric ones (original units), else the first two principal components (NumPy SVD)."""
    schema = pre.schema_
    pick = _sample(len(X), seed)
    if len(schema) == 2 and all(c["kind"] == "numeric" for c in schema):
        names = [c["name"] for c in schema]
        raw = df[names].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        centres = [
            np.nanmean(raw[labels == c], axis=0) if np.any(labels == c) else [np.nan, np.nan]
            for c in range(model.n_clusters)
        ]
        return {
            "x": raw[pick, 0].tolist(),
            "y": raw[pick, 1].tolist(),
            "labels": labels[pick].tolist(),
            "centroids": np.asarray(centres, dtype=float).tolist(),
            "xlabel": names[0],
            "ylabel": names[1],
            "projection": "features",
        }
    mean = X.mean(axis=0)
    centred = X - mean
    if X.shape[1] == 1:
        points = np.column_stack([centred[:, 0], np.zeros(len(X))])
        centres = np.column_stack(
            [model.cluster_centers_[:, 0] - mean[0], np.zeros(model.n_clusters)]
        )
        explained = [1.0, 0.0]
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        components = vt[:2]
        points = centred @ components.T
        centres = (model.cluster_centers_ - mean) @ components.T
        variance = s**2
        explained = (variance[:2] / variance.sum()).tolist() if variance.sum() > 0 else [0, 0]
    return {
        "x": points[pick, 0].tolist(),
        "y": points[pick, 1].tolist(),
        "labels": labels[pick].tolist(),
        "centroids": centres.tolist(),
        "xlabel": f"Principal component 1 ({explained[0]:.0%} of variance)",
        "ylabel": f"Principal component 2 ({explained[1]:.0%} of variance)",
        "projection": "pca",
    }


def _centroid_table(df, labels, k, pre) -> dict:
    """Each cluster's centre in original units: the mean of numbers, the most frequent
    value of everything else."""
    columns = [c["name"] for c in pre.schema_]
    kinds = {c["name"]: c["kind"] for c in pre.schema_}
    rows = []
    for cluster in range(k):
        part = df.loc[labels == cluster, columns]
        row = []
        for name in columns:
            values = part[name]
            if kinds[name] == "numeric":
                number = pd.to_numeric(values, errors="coerce").mean()
                row.append(None if pd.isna(number) else round(float(number), 4))
            else:
                mode = values.dropna().astype(str).mode()
                row.append(str(mode.iloc[0]) if len(mode) else None)
        rows.append(row)
    return {"columns": columns, "rows": rows}


# -- trees and forests -----------------------------------------------------------------------


def _build(run: Run):
    p, classification = run.params, run.task == "classification"
    common = {
        "max_depth": p["max_depth"],
        "min_samples_leaf": p["min_samples_leaf"],
        "random_state": run.random_state,
    }
    if run.algorithm == "decision_tree":
        if classification:
            return DecisionTreeClassifier(criterion=p["criterion"], **common)
        return DecisionTreeRegressor(**common)
    max_features = None if p["max_features"] == "all" else p["max_features"]
    cls = RandomForestClassifier if classification else RandomForestRegressor
    return cls(n_estimators=p["n_estimators"], max_features=max_features, oob_score=True, **common)


def _train_supervised(frame: pd.DataFrame, run: Run, progress: Progress) -> Outcome:
    classification = run.task == "classification"
    target = prepare_target(frame[run.target], run.task)
    y = target.y
    df = frame.loc[target.present, run.features].reset_index(drop=True)
    rows = np.arange(len(y))
    stratify = None
    if classification:
        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 else None
    train_rows, test_rows = train_test_split(
        rows, test_size=run.test_size, random_state=run.random_state, stratify=stratify
    )
    if len(train_rows) < 2 or len(test_rows) < 1:
        raise TrainingError(f"Only {len(y)} rows have a target value: too few to train and test.")
    progress(0.1, "Preparing the features", force=True)
    pre = TabularPreprocessor().fit(df.iloc[train_rows])
    X_train, X_test = pre.transform(df.iloc[train_rows]), pre.transform(df.iloc[test_rows])
    y_train, y_test = y[train_rows], y[test_rows]
    if classification and len(np.unique(y_train)) < 2:
        raise TrainingError("The training split has a single class; use a larger data set.")
    model = _build(run)
    if run.algorithm == "random_forest":
        total = model.n_estimators
        progress(0.15, f"Growing {total} trees", force=True)

        def on_tree(done, total):
            progress(0.15 + 0.75 * done / total, f"Built {done} of {total} trees")

        model.fit(X_train, y_train, progress=on_tree)
    else:
        progress(0.3, "Growing the tree", force=True)
        model.fit(X_train, y_train)
    progress(0.9, "Measuring on the test split", force=True)
    names = pre.feature_names_out_
    predicted_test, predicted_train = model.predict(X_test), model.predict(X_train)
    score = _classification_metrics if classification else _regression_metrics
    metrics, train_metrics = score(y_test, predicted_test), score(y_train, predicted_train)
    results = {
        "n_train": len(train_rows),
        "n_test": len(test_rows),
        "features_used": [c["name"] for c in pre.schema_],
        "dropped": pre.dropped_,
    }
    importances = explain.group_importances(names, model.feature_importances_, pre.schema_)
    results["importances"] = importances
    results["feature_importances"] = {
        "names": [g["column"] for g in importances if g["value"] > 0][:MAX_IMPORTANCES],
        "values": [g["value"] for g in importances if g["value"] > 0][:MAX_IMPORTANCES],
    }
    classes = None
    if classification:
        classes = [_plain(c) for c in model.classes_]
        # What always answering the most common training class would score.
        majority = model.classes_[np.argmax(np.unique(y_train, return_counts=True)[1])]
        results["baseline"] = {"accuracy": float(np.mean(y_test == majority))}
        matrix = mlmetrics.confusion_matrix(y_test, predicted_test, labels=model.classes_)
        results["confusion_matrix"] = {"labels": [str(c) for c in classes],
                                       "matrix": np.asarray(matrix).tolist()}  # fmt: skip
    else:
        # What always answering the training mean would score.
        results["baseline"] = _regression_metrics(y_test, np.full(len(y_test), y_train.mean()))
        pick = _sample(len(y_test), run.random_state)
        results["predicted_vs_actual"] = {
            "actual": y_test[pick].tolist(),
            "predicted": np.asarray(predicted_test)[pick].tolist(),
            "target": run.target,
        }
    if run.algorithm == "decision_tree":
        class_names = [str(c) for c in classes] if classes else None
        tree = tree_to_dict(model, feature_names=names, class_names=class_names)
        results["tree"] = explain.explain_tree(tree, pre.schema_, names)
        results["tree_depth"], results["tree_leaves"] = model.get_depth(), model.get_n_leaves()
        results["rules"] = explain.rules_text(tree, pre.schema_, names, MAX_RULES_CHARS)
    else:
        metrics["oob_score"] = float(model.oob_score_)
        results["trees_curve"] = _trees_curve(model, X_test, y_test, classification)
    return Outcome(
        model, pre, _clean(metrics), _clean(train_metrics), _clean(results), classes=classes
    )


def _classification_metrics(y_true, y_pred) -> dict:
    return {
        "accuracy": float(mlmetrics.accuracy_score(y_true, y_pred)),
        "precision_macro": float(mlmetrics.precision_score(y_true, y_pred, average="macro")),
        "recall_macro": float(mlmetrics.recall_score(y_true, y_pred, average="macro")),
        "f1_macro": float(mlmetrics.f1_score(y_true, y_pred, average="macro")),
    }


def _regression_metrics(y_true, y_pred) -> dict:
    return {
        "r2": float(mlmetrics.r2_score(y_true, y_pred)) if len(y_true) > 1 else None,
        "mae": float(mlmetrics.mean_absolute_error(y_true, y_pred)),
        "rmse": float(mlmetrics.root_mean_squared_error(y_true, y_pred)),
    }


def _trees_curve(forest, X_test, y_test, classification: bool) -> dict:
    """Test accuracy (or R²) of the first n trees, for about 50 values of n."""
    total = len(forest.estimators_)
    checkpoints = sorted({max(1, round(total * i / 50)) for i in range(1, 51)})
    summed, scores, done = None, [], 0
    for n in checkpoints:
        for tree in forest.estimators_[done:n]:
            out = tree.predict_proba(X_test) if classification else tree.predict(X_test)
            summed = out if summed is None else summed + out
        done = n
        mean = summed / n
        if classification:
            scores.append(float(np.mean(forest.classes_[np.argmax(mean, axis=1)] == y_test)))
        else:
            scores.append(float(mlmetrics.r2_score(y_test, mean)) if len(y_test) > 1 else None)
    return {"n_trees": checkpoints, "scores": scores,
            "metric": "accuracy" if classification else "r2"}  # fmt: skip


# -- JSON ------------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _clean(value):
    """Plain JSON values: NumPy scalars unwrapped, NaN and infinities as None (PostgreSQL's
    JSON refuses them)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
