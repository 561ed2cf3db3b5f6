"""Training runs: validate and create, list, read, cancel, retry, and keep their state honest.

A run is created ``queued`` only when its settings fit its data set (unknown columns, a
one-class target, k above the row count... are 422s and nothing is stored). The settings
arrive as :class:`~webapp.services.run_settings.RunSettings`, already checked on their own
(the API's body model, the browser form's too); this module adds what needs the data set.
The job itself lives in :mod:`webapp.services.training`. State changes that can race with
the job are single conditional UPDATEs (``WHERE status = ...``), so a cancel and a finishing
job never overwrite each other.

The state changes the job backends need (:func:`finish_run`, :func:`reap_stale_runs`,
:func:`take_over`) live here too; :mod:`webapp.jobs` decides when to call them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from webapp.db import utcnow
from webapp.errors import NotFound, ServiceUnavailable, ValidationFailed, field_error
from webapp.lazy import lazy_import
from webapp.models import Dataset, Run, User
from webapp.models.ml import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from webapp.services import datasets as dataset_service
from webapp.services import metric_info, quotas
from webapp.services.ownership import get_owned
from webapp.services.run_settings import (
    FOREST_MAX_FEATURES,
    MAX_K,
    NAME_MAX,
    RunSettings,
    parse_settings,
)

preprocessing = lazy_import("mlcore.preprocessing")  # see webapp.lazy

log = logging.getLogger(__name__)

ALGORITHM_LABELS = {
    "kmeans": "KMeans clustering",
    "decision_tree": "Decision tree",
    "random_forest": "Random forest",
}
QUEUE_DOWN = (
    "The run could not be queued: the job queue did not answer. Retry it once the queue is back."
)
SERVER_RESTARTED = (
    "The server restarted while this run was queued or running, so it was stopped. "
    "Retry it to train again."
)


# -- lookups ---------------------------------------------------------------------------------


def list_runs(
    *, session: Session, user: User, limit: int = 50, offset: int = 0, status: str | None = None
) -> tuple[list[Run], int]:
    """The user's runs, newest first, and how many there are in all."""
    where = [Run.owner_id == user.id]
    if status:
        where.append(Run.status == status)
    total = session.scalar(select(func.count(Run.id)).where(*where)) or 0
    runs = session.scalars(
        select(Run).where(*where).order_by(Run.id.desc()).limit(limit).offset(offset)
    )
    return list(runs), total


# The metric that ranks runs of each task (all three: higher is better).
PRIMARY_METRIC = {"classification": "accuracy", "regression": "r2", "clustering": "silhouette"}


def compare_on_dataset(*, session: Session, user: User, dataset: Dataset) -> list[dict]:
    """The user's successful runs on ``dataset``, side by side: one group per thing learned
    (a target and task, or clusters), each with every run's parameters and metrics, the
    union of parameter and metric names, the ranking metric and the best run's id."""
    runs = session.scalars(
        select(Run)
        .where(Run.owner_id == user.id, Run.dataset_id == dataset.id, Run.status == SUCCEEDED)
        .options(selectinload(Run.model_version))
        .order_by(Run.id)
    ).all()
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.task, run.target), []).append(run)
    out = []
    for (task, target), members in groups.items():
        metric = PRIMARY_METRIC.get(task, "")
        scored = [r for r in members if isinstance(r.metrics.get(metric), int | float)]
        best = max(scored, key=lambda r: r.metrics[metric]) if scored else None
        out.append(
            {
                "task": task,
                "target": target,
                "metric": metric,
                "best_id": best.id if best else None,
                "params": sorted({key for r in members for key in r.params}),
                "metrics": metric_info.ordered(
                    list(dict.fromkeys(key for r in members for key in r.metrics))
                ),
                "runs": members,
            }
        )
    return out


# -- creating --------------------------------------------------------------------------------


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[field_error(field, message)])


def _check_params(algorithm: str, params: dict, n_rows: int) -> None:
    """The bounds that depend on the data set's size (the rest was checked by pydantic)."""
    if algorithm == "kmeans":
        k = params["k"]
        if not params["suggest_k"] and k > n_rows:
            raise _fail("params.k", f"k={k} is larger than the {n_rows} rows of the data set.")
        if k > MAX_K:
            raise _fail("params.k", f"k must be between 1 and {MAX_K}.")
    elif params["min_samples_leaf"] > max(1, n_rows):
        raise _fail(
            "params.min_samples_leaf", f"min_samples_leaf must be between 1 and {max(1, n_rows)}."
        )


def _check_target(frame, target: str, task: str | None) -> str:
    task = task or preprocessing.infer_task(frame[target])
    try:
        preprocessing.prepare_target(frame[target], task)
    except ValueError as exc:
        raise _fail("target", str(exc)) from None
    return task


def validate_settings(*, session: Session, user: User, settings: RunSettings):
    """Check ``settings`` against its data set (what pydantic could not: the columns, the
    target's values, sizes against the row count); returns (dataset, the run's fields)."""
    try:
        dataset = get_owned(
            session, Dataset, settings.dataset_id, user, load=dataset_service.DETAILS
        )
    except NotFound:
        raise _fail("dataset_id", "There is no data set with this id among yours.") from None
    columns = [c["name"] for c in dataset.profile["columns"]]
    usable = [c["name"] for c in dataset.profile["columns"] if c["used"]]
    target = settings.target
    if target is not None and target not in columns:
        raise _fail("target", f"The data set has no column {target!r}.")
    if settings.features:
        unknown = [f for f in settings.features if f not in columns]
        if unknown:
            names = ", ".join(repr(f) for f in unknown)
            raise _fail("features", f"The data set has no column(s) {names}.")
        features = settings.features
    else:
        features = [c for c in usable if c != target]
    if not any(f in usable for f in features):
        raise _fail(
            "features", "None of the chosen columns can be a feature (all are identifiers, "
            "constant or empty)."
        )  # fmt: skip
    params = settings.params.model_dump()
    _check_params(settings.algorithm, params, dataset.n_rows)
    task = "clustering"
    if target is not None:
        frame = dataset_service.load_dataframe(session=session, dataset=dataset)
        task = _check_target(frame, target, settings.task)
    if "max_features" in params and params["max_features"] is None:
        params["max_features"] = FOREST_MAX_FEATURES[task]
    name = settings.model_name or default_model_name(dataset, settings.algorithm)
    return dataset, {
        "algorithm": settings.algorithm,
        "task": task,
        "target": target,
        "features": features,
        "params": params,
        "test_size": settings.test_size,
        "random_state": settings.random_state,
        "model_name": name,
    }


def default_model_name(dataset: Dataset, algorithm: str) -> str:
    short = {"kmeans": "clusters", "decision_tree": "tree", "random_forest": "forest"}
    return f"{dataset.name} {short[algorithm]}"[:NAME_MAX]


def create_run(
    *, session: Session, user: User, settings: RunSettings, submit: Callable[[Run], None]
) -> Run:
    """Validate, store the run as ``queued`` and hand it to ``submit`` (the job backend).

    If the backend refuses (e.g. Redis is down) the run is kept as failed with the reason
    and a 503 is raised, so the client sees why and can retry later.
    """
    quotas.check_new_run(session=session, user=user)
    dataset, fields = validate_settings(session=session, user=user, settings=settings)
    run = Run(owner_id=user.id, dataset_id=dataset.id, dataset_name=dataset.name, **fields)
    session.add(run)
    session.commit()
    return _submit(session=session, run=run, submit=submit)


def _submit(*, session: Session, run: Run, submit: Callable[[Run], None]) -> Run:
    try:
        submit(run)
    except Exception:  # the queue is unreachable; the run must not wait forever
        log.warning("Run %s could not be queued", run.id, exc_info=True)
        finish_run(session, run.id, FAILED, error=QUEUE_DOWN)
        session.refresh(run)
        raise ServiceUnavailable(
            "The job queue is unavailable, so the run could not start. Try again later."
        ) from None
    session.commit()  # the backend may have noted its worker on the run
    return run


def retry_run(*, session: Session, user: User, run: Run, submit: Callable[[Run], None]) -> Run:
    """A new run with the same settings as ``run`` (which is left as it is)."""
    if run.dataset_id is None:
        raise ValidationFailed("The data set of this run was deleted, so it cannot be retried.")
    settings = parse_settings(
        {
            "dataset_id": run.dataset_id,
            "algorithm": run.algorithm,
            "target": run.target,
            "features": list(run.features),
            "params": dict(run.params),
            "test_size": run.test_size,
            "random_state": run.random_state,
            "task": None if run.task == "clustering" else run.task,
            "model_name": run.model_name,
        }
    )
    quotas.check_new_run(session=session, user=user)
    dataset, fields = validate_settings(session=session, user=user, settings=settings)
    new = Run(
        owner_id=user.id,
        dataset_id=dataset.id,
        dataset_name=dataset.name,
        retry_of_id=run.id,
        **fields,
    )
    session.add(new)
    session.commit()
    return _submit(session=session, run=new, submit=submit)


# -- state changes ---------------------------------------------------------------------------


def finish_run(
    session: Session, run_id: int, status: str, *, error=None, only_from=(QUEUED, RUNNING)
) -> bool:
    """Move a run to a finished status (only from ``only_from`` statuses); True if it moved."""
    values = {"status": status, "finished_at": utcnow(), "error": error}
    if status == CANCELLED:
        values["stage"] = "Cancelled"
    elif status == FAILED:
        values["stage"] = "Failed"
    result = session.execute(
        update(Run).where(Run.id == run_id, Run.status.in_(only_from)).values(**values)
    )
    session.commit()
    return result.rowcount == 1


def cancel_run(*, session: Session, run: Run, on_cancel: Callable[[Run], None] | None = None):
    """Cancel: a queued run at once; a running one at its next progress report.

    Cancelling a finished run changes nothing (the answer shows its final state).
    """
    if finish_run(session, run.id, CANCELLED, only_from=(QUEUED,)):
        if on_cancel is not None:
            on_cancel(run)
    else:
        session.execute(
            update(Run)
            .where(Run.id == run.id, Run.status == RUNNING)
            .values(cancel_requested=True, stage="Cancelling…")
        )
        session.commit()
    session.refresh(run)
    return run


def reap_stale_runs(*, session: Session, timeout_seconds: float, run_ids=None) -> int:
    """Fail running runs whose heartbeat is older than ``timeout_seconds`` (dead worker)."""
    cutoff = utcnow() - timedelta(seconds=timeout_seconds)
    where = [Run.status == RUNNING, Run.heartbeat_at < cutoff]
    if run_ids is not None:
        where.append(Run.id.in_(list(run_ids)))
    message = (
        f"The worker running this job stopped responding (no heartbeat for over "
        f"{timeout_seconds:g} s): it probably crashed or was stopped. Retry the run."
    )
    result = session.execute(
        update(Run)
        .where(*where)
        .values(status=FAILED, stage="Failed", error=message, finished_at=utcnow())
    )
    session.commit()
    return result.rowcount


def take_over(session: Session, run_id: int, *, old: str, new: str) -> bool:
    """Hand a queued run from worker ``old`` to ``new``; False if someone else took it."""
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == QUEUED, Run.worker == old)
        .values(worker=new)
    )
    session.commit()
    return result.rowcount == 1
