"""Training runs: validate and create, list, read, cancel, retry, and keep their state honest.

A run is created ``queued`` only when its settings fit its data set (unknown columns, a
one-class target, k above the row count... are 422s and nothing is stored); the job itself
lives in :mod:`webapp.services.training`. State changes that can race with the job are
single conditional UPDATEs (``WHERE status = ...``), so a cancel and a finishing job never
overwrite each other.

The state changes the job backends need (:func:`finish_run`, :func:`reap_stale_runs`,
:func:`take_over`) live here too; :mod:`webapp.jobs` decides when to call them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp.db import MAX_ID, utcnow
from webapp.errors import NotFound, ServiceUnavailable, ValidationFailed, field_error
from webapp.models import Dataset, Run, User
from webapp.models.ml import ALGORITHMS
from webapp.services import datasets as dataset_service
from webapp.services import quotas
from webapp.services.ownership import get_owned

NAME_MAX = 120
log = logging.getLogger(__name__)

MAX_K = 50
MAX_TREES = 500
MAX_DEPTH = 50
TEST_SIZE_RANGE = (0.05, 0.5)
ALGORITHM_LABELS = {
    "kmeans": "KMeans clustering",
    "decision_tree": "Decision tree",
    "random_forest": "Random forest",
}
CRITERIA = ("gini", "entropy")
MAX_FEATURES = ("sqrt", "log2", "all")
DEFAULT_PARAMS = {
    "kmeans": {"k": 3, "suggest_k": False},
    "decision_tree": {"criterion": "gini", "max_depth": 5, "min_samples_leaf": 1},
    "random_forest": {
        "n_estimators": 100,
        "max_features": "sqrt",
        "max_depth": None,
        "min_samples_leaf": 1,
    },
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


# -- creating --------------------------------------------------------------------------------


@dataclass
class RunSettings:
    dataset_id: int
    algorithm: str
    target: str | None = None
    features: list[str] | None = None
    params: dict | None = None
    test_size: float = 0.2
    random_state: int = 42
    task: str | None = None
    model_name: str | None = None


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[field_error(field, message)])


def _int(params: dict, name: str, low: int, high: int, *, optional=False) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if optional:
            return None
        raise _fail(f"params.{name}", f"{name} is required.")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _fail(f"params.{name}", f"{name} must be a whole number.")
    try:
        value = int(value)
    except ValueError:
        raise _fail(f"params.{name}", f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise _fail(f"params.{name}", f"{name} must be between {low} and {high}.")
    return value


def clean_params(algorithm: str, params: dict | None, *, n_rows: int) -> dict:
    """The algorithm's parameters with defaults filled in; a 422 naming the bad one."""
    given = dict(params or {})
    merged = {**DEFAULT_PARAMS[algorithm], **{k: v for k, v in given.items() if v is not None}}
    unknown = sorted(set(given) - set(DEFAULT_PARAMS[algorithm]))
    if unknown:
        raise _fail("params", f"Unknown parameter(s) for {algorithm}: {', '.join(unknown)}.")
    if algorithm == "kmeans":
        suggest = merged.get("suggest_k") in (True, "true", "on", "1", 1)
        try:
            k = _int(merged, "k", 1, MAX_ID)
        except ValidationFailed:
            raise _fail("params.k", f"k must be a whole number between 1 and {MAX_K}.") from None
        if not suggest and k > n_rows:
            raise _fail("params.k", f"k={k} is larger than the {n_rows} rows of the data set.")
        if k > MAX_K:
            raise _fail("params.k", f"k must be between 1 and {MAX_K}.")
        return {"k": k, "suggest_k": suggest}
    # An explicit null max_depth means "no limit", not "the default".
    depth = given["max_depth"] if "max_depth" in given else merged["max_depth"]
    cleaned = {
        "max_depth": _int({"max_depth": depth}, "max_depth", 1, MAX_DEPTH, optional=True),
        "min_samples_leaf": _int(merged, "min_samples_leaf", 1, max(1, n_rows)),
    }
    if algorithm == "decision_tree":
        if merged["criterion"] not in CRITERIA:
            raise _fail("params.criterion", f"criterion must be one of {', '.join(CRITERIA)}.")
        cleaned["criterion"] = merged["criterion"]
    else:
        cleaned["n_estimators"] = _int(merged, "n_estimators", 1, MAX_TREES)
        if merged["max_features"] not in MAX_FEATURES:
            raise _fail(
                "params.max_features", f"max_features must be one of {', '.join(MAX_FEATURES)}."
            )
        cleaned["max_features"] = merged["max_features"]
    return cleaned


def _check_target(frame, target: str, task: str | None) -> str:
    from mlcore.preprocessing import infer_task, prepare_target

    task = task or infer_task(frame[target])
    try:
        prepare_target(frame[target], task)
    except ValueError as exc:
        raise _fail("target", str(exc)) from None
    return task


def validate_settings(*, session: Session, user: User, settings: RunSettings):
    """Check ``settings`` against the data set; returns (dataset, field values of the run)."""
    if settings.algorithm not in ALGORITHMS:
        raise _fail("algorithm", f"algorithm must be one of {', '.join(ALGORITHMS)}.")
    try:
        dataset = get_owned(
            session, Dataset, settings.dataset_id, user, load=dataset_service.DETAILS
        )
    except NotFound:
        raise _fail("dataset_id", "There is no data set with this id among yours.") from None
    columns = [c["name"] for c in dataset.profile["columns"]]
    usable = [c["name"] for c in dataset.profile["columns"] if c["used"]]
    supervised = settings.algorithm != "kmeans"
    target = (settings.target or "").strip() or None
    if supervised and target is None:
        raise _fail("target", "Choose the target column the model should predict.")
    if not supervised and target is not None:
        raise _fail("target", "KMeans finds groups by itself: leave the target empty.")
    if target is not None and target not in columns:
        raise _fail("target", f"The data set has no column {target!r}.")
    if settings.features:
        unknown = [f for f in settings.features if f not in columns]
        if unknown:
            names = ", ".join(repr(f) for f in unknown)
            raise _fail("features", f"The data set has no column(s) {names}.")
        if target in settings.features:
            raise _fail("features", f"The target {target!r} cannot also be a feature.")
        features = list(dict.fromkeys(settings.features))
    else:
        features = [c for c in usable if c != target]
    if not any(f in usable for f in features):
        raise _fail(
            "features", "None of the chosen columns can be a feature (all are identifiers, "
            "constant or empty)."
        )  # fmt: skip
    if not TEST_SIZE_RANGE[0] <= settings.test_size <= TEST_SIZE_RANGE[1]:
        low, high = (round(v * 100) for v in TEST_SIZE_RANGE)
        raise _fail("test_size", f"The test split must be between {low}% and {high}%.")
    if not 0 <= settings.random_state <= MAX_ID:
        raise _fail("random_state", f"The random seed must be between 0 and {MAX_ID}.")
    params = clean_params(settings.algorithm, settings.params, n_rows=dataset.n_rows)
    task = "clustering"
    if supervised:
        if settings.task not in (None, "classification", "regression"):
            raise _fail("task", "task must be 'classification' or 'regression'.")
        frame = dataset_service.load_dataframe(session=session, dataset=dataset)
        task = _check_target(frame, target, settings.task)
    name = (settings.model_name or "").strip() or default_model_name(dataset, settings.algorithm)
    if len(name) > NAME_MAX:
        raise _fail("model_name", f"The model name is longer than {NAME_MAX} characters.")
    return dataset, {
        "algorithm": settings.algorithm,
        "task": task,
        "target": target,
        "features": features,
        "params": params,
        "test_size": float(settings.test_size),
        "random_state": int(settings.random_state),
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
        finish_run(session, run.id, "failed", error=QUEUE_DOWN)
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
    settings = RunSettings(
        dataset_id=run.dataset_id,
        algorithm=run.algorithm,
        target=run.target,
        features=list(run.features),
        params=dict(run.params),
        test_size=run.test_size,
        random_state=run.random_state,
        task=None if run.task == "clustering" else run.task,
        model_name=run.model_name,
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
    session: Session, run_id: int, status: str, *, error=None, only_from=("queued", "running")
) -> bool:
    """Move a run to a finished status (only from ``only_from`` statuses); True if it moved."""
    values = {"status": status, "finished_at": utcnow(), "error": error}
    if status == "cancelled":
        values["stage"] = "Cancelled"
    elif status == "failed":
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
    if finish_run(session, run.id, "cancelled", only_from=("queued",)):
        if on_cancel is not None:
            on_cancel(run)
    else:
        session.execute(
            update(Run)
            .where(Run.id == run.id, Run.status == "running")
            .values(cancel_requested=True, stage="Cancelling…")
        )
        session.commit()
    session.refresh(run)
    return run


def reap_stale_runs(*, session: Session, timeout_seconds: float, run_ids=None) -> int:
    """Fail running runs whose heartbeat is older than ``timeout_seconds`` (dead worker)."""
    cutoff = utcnow() - timedelta(seconds=timeout_seconds)
    where = [Run.status == "running", Run.heartbeat_at < cutoff]
    if run_ids is not None:
        where.append(Run.id.in_(list(run_ids)))
    message = (
        f"The worker running this job stopped responding (no heartbeat for over "
        f"{timeout_seconds:g} s): it probably crashed or was stopped. Retry the run."
    )
    result = session.execute(
        update(Run)
        .where(*where)
        .values(status="failed", stage="Failed", error=message, finished_at=utcnow())
    )
    session.commit()
    return result.rowcount


def take_over(session: Session, run_id: int, *, old: str, new: str) -> bool:
    """Hand a queued run from worker ``old`` to ``new``; False if someone else took it."""
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == "queued", Run.worker == old)
        .values(worker=new)
    )
    session.commit()
    return result.rowcount == 1
