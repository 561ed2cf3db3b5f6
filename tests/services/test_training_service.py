"""The run services and the training job, below the API: failure paths, the heartbeat,
the reaper and start-up recovery, JSON cleaning, model versions."""

from __future__ import annotations

import math
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.ml_helpers import DATA
from webapp import jobs
from webapp.db import get_session, utcnow
from webapp.errors import ValidationFailed
from webapp.models import ModelVersion, Run, User
from webapp.services import datasets as dataset_service
from webapp.services import run_settings, training
from webapp.services import runs as run_service


@pytest.fixture
def ctx(app, auth):
    auth.create("alice")
    with app.app_context():
        session = get_session()
        user = session.scalars(select(User)).one()
        dataset = dataset_service.create_dataset(
            session=session,
            user=user,
            filename="sample_data.csv",
            content=(DATA / "sample_data.csv").read_bytes(),
        )
        yield session, user, dataset


def queued_run(session, user, dataset, **settings) -> Run:
    settings = {"dataset_id": dataset.id, "algorithm": "kmeans", **settings}
    return run_service.create_run(
        session=session,
        user=user,
        settings=run_settings.parse_settings(settings),
        submit=lambda run: None,
    )


def test_execute_run_succeeds_and_registers_version(ctx):
    session, user, dataset = ctx
    run = queued_run(session, user, dataset, params={"suggest_k": True}, model_name="Seg")
    assert training.execute_run(session=session, run_id=run.id, worker="t") == "succeeded"
    session.expire_all()
    run = session.get(Run, run.id)
    assert (run.status, run.progress, run.stage) == ("succeeded", 1.0, "Done")
    version = session.scalars(select(ModelVersion)).one()
    assert version.params["k"] == run.results["k"] and version.params["suggest_k"] is True
    assert version.input_schema[0]["name"] == "age"
    assert training.execute_run(session=session, run_id=run.id, worker="t") is None  # not queued


def test_deleted_data_set_fails_the_run_with_the_reason(ctx):
    session, user, dataset = ctx
    run = queued_run(session, user, dataset)
    dataset_service.delete_dataset(session=session, dataset=dataset)
    assert training.execute_run(session=session, run_id=run.id, worker="t") == "failed"
    session.expire_all()
    failed = session.get(Run, run.id)
    assert failed.error == "The data set of this run was deleted."
    assert failed.finished_at is not None
    assert session.scalars(select(ModelVersion)).first() is None


def test_unexpected_error_fails_the_run_instead_of_leaving_it_running(ctx, monkeypatch):
    session, user, dataset = ctx
    run = queued_run(session, user, dataset)

    def boom(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(training, "train", boom)
    assert training.execute_run(session=session, run_id=run.id, worker="t") == "failed"
    session.expire_all()
    error = session.get(Run, run.id).error
    assert "disk on fire" not in error and "RuntimeError" not in error  # internals stay in logs
    assert error == training.UNEXPECTED.format(run_id=run.id)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionError("Error 111 connecting to 10.0.0.5:6379. Connection refused."),
        ValueError("operands could not be broadcast together with shapes (3,) (4,)"),
    ],
)
def test_internal_error_text_stays_in_the_log(ctx, monkeypatch, caplog, exc):
    """A Redis outage or a library's ValueError must not show hosts or internals to users."""
    session, user, dataset = ctx
    run = queued_run(session, user, dataset)

    def boom(**kwargs):
        raise exc

    monkeypatch.setattr(training, "train", boom)
    assert training.execute_run(session=session, run_id=run.id, worker="t") == "failed"
    session.expire_all()
    error = session.get(Run, run.id).error
    assert str(exc) not in error and "10.0.0.5" not in error
    assert "problem on the server" in error
    assert str(exc) in caplog.text  # the operator still sees it


def test_errors_about_the_data_are_shown_as_written(ctx, monkeypatch):
    from mlcore.preprocessing import prepare_target

    session, user, dataset = ctx
    run = queued_run(session, user, dataset)
    import pandas as pd

    def one_class(**kwargs):
        prepare_target(pd.Series(["same"] * 5), "classification")

    monkeypatch.setattr(training, "train", one_class)
    training.execute_run(session=session, run_id=run.id, worker="t")
    session.expire_all()
    assert "single class" in session.get(Run, run.id).error


def test_job_that_cannot_start_is_failed_not_left_queued(app, ctx, monkeypatch):
    session, user, dataset = ctx
    run = queued_run(session, user, dataset)
    monkeypatch.setattr(training, "execute_run", lambda **kw: 1 / 0)
    assert jobs.execute(app, run.id, "t") == "failed"
    session.expire_all()
    assert "could not run" in session.get(Run, run.id).error


def test_heartbeat_is_stamped_while_the_job_runs(app, ctx, monkeypatch):
    session, user, dataset = ctx
    app.config["RUN_HEARTBEAT_SECONDS"] = 0.05
    run = queued_run(session, user, dataset)
    started = {}

    def slow(*, session, run, progress):
        started["at"] = session.scalar(select(Run.heartbeat_at).where(Run.id == run.id))
        time.sleep(0.4)
        started["later"] = session.scalar(select(Run.heartbeat_at).where(Run.id == run.id))
        raise training.TrainingError("stop here")

    monkeypatch.setattr(training, "train", slow)
    jobs.execute(app, run.id, "t")
    assert started["later"] > started["at"]


def test_reaper_only_fails_silent_running_runs(ctx):
    session, user, dataset = ctx
    silent, fresh, queued = (queued_run(session, user, dataset) for _ in range(3))
    silent.status, silent.heartbeat_at = "running", utcnow() - timedelta(seconds=120)
    fresh.status, fresh.heartbeat_at = "running", utcnow()
    session.commit()
    assert run_service.reap_stale_runs(session=session, timeout_seconds=60) == 1
    session.expire_all()
    statuses = [session.get(Run, r.id).status for r in (silent, fresh, queued)]
    assert statuses == ["failed", "running", "queued"]


def test_start_up_recovery_fails_only_dead_processes_of_this_host(ctx):
    session, user, dataset = ctx
    runs = [queued_run(session, user, dataset) for _ in range(4)]
    workers = [
        f"inprocess:{jobs.HOST}:999999999",  # dead process, this host
        f"inprocess:{jobs.HOST}:{os.getppid()}",  # a live process
        "inprocess:another-host:999999999",  # not ours to judge
        f"rq:{jobs.HOST}:999999999",  # RQ runs are the reaper's
    ]
    for run, worker in zip(runs, workers, strict=True):
        run.worker, run.status = worker, "running"
    session.commit()
    count = jobs.get_backend().recover(session)
    assert count == 1
    session.expire_all()
    assert [session.get(Run, r.id).status for r in runs] == [
        "failed", "running", "running", "running"
    ]  # fmt: skip
    assert session.get(Run, runs[0].id).error == run_service.SERVER_RESTARTED


def test_validation_is_a_422_before_anything_is_stored(ctx):
    session, user, dataset = ctx
    with pytest.raises(ValidationFailed) as caught:
        queued_run(session, user, dataset, params={"k": "many"})
    assert caught.value.details[0]["field"] == "params.k"
    assert session.scalars(select(Run)).first() is None


@pytest.mark.parametrize(
    ("algorithm", "params", "expected"),
    [
        ("decision_tree", {}, {"criterion": "gini", "max_depth": 5, "min_samples_leaf": 1}),
        ("decision_tree", {"max_depth": None}, {"criterion": "gini", "max_depth": None,
                                                "min_samples_leaf": 1}),
        ("random_forest", {"n_estimators": "20"}, {"n_estimators": 20, "max_features": None,
                                                   "max_depth": None, "min_samples_leaf": 1}),
        ("kmeans", {"k": 4}, {"k": 4, "suggest_k": False}),
    ],
)  # fmt: skip
def test_params_get_defaults(algorithm, params, expected):
    assert run_settings.PARAMS[algorithm].model_validate(params).model_dump() == expected


def test_clean_makes_plain_json():
    import numpy as np

    cleaned = training._clean({"a": np.float64(1.5), "b": [math.nan, np.int64(2)], 3: math.inf})
    assert cleaned == {"a": 1.5, "b": [None, 2], "3": None}


def test_recovery_runs_the_queued_runs_of_a_dead_process_here(app, ctx):
    """The server restarted with runs waiting in its old pool: the new pool runs them."""
    session, user, dataset = ctx
    run = queued_run(session, user, dataset)
    run.worker = f"inprocess:{jobs.HOST}:999999999"
    session.commit()
    backend = jobs.get_backend(app)
    assert backend.recover(session) == 1
    assert backend.wait_idle(60)
    session.expire_all()
    again = session.get(Run, run.id)
    assert again.status == "succeeded" and again.worker == backend.worker
    assert backend.recover(session) == 0


def test_the_sweeper_fails_a_dead_workers_run_with_nobody_watching(app, ctx):
    session, user, dataset = ctx
    run = queued_run(session, user, dataset)
    run.status, run.heartbeat_at = "running", utcnow() - timedelta(seconds=120)
    session.commit()
    app.config.update(RUN_SWEEP_SECONDS=0.05, RUN_HEARTBEAT_TIMEOUT=60)
    jobs.start_sweeper(app)
    try:
        deadline = time.monotonic() + 30
        while session.scalar(select(Run.status).where(Run.id == run.id)) != "failed":
            session.commit()  # end the read, so the next one sees the sweeper's write
            assert time.monotonic() < deadline, "the sweeper never failed the run"
            time.sleep(0.05)
    finally:
        jobs.stop_sweeper(app)
    session.expire_all()
    assert "stopped responding" in session.get(Run, run.id).error
