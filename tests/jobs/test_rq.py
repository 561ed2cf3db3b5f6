"""The RQ backend on the real Redis at 127.0.0.1:6379 (our own DB number and a queue name
per test): runs go to the queue, and an RQ worker (in this process, or ``flask worker
--burst`` as a subprocess) executes them and writes their state to the database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.ml_helpers import start, upload
from webapp import ROOT, jobs

REDIS_URL = "redis://127.0.0.1:6379/11"


def _redis():
    from redis import Redis

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return connection


QUEUE = f"test-runs-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app_config():
    return {"REDIS_URL": REDIS_URL, "RQ_QUEUE": QUEUE, "RATELIMIT_STORAGE_URI": "memory://"}


@pytest.fixture(autouse=True)
def _clean_queue():
    connection = _redis()
    yield
    for key in connection.scan_iter(f"*{QUEUE}*"):
        connection.delete(key)
    for pattern in ("rq:job:run-*", "rq:results:run-*"):
        for key in connection.scan_iter(pattern):
            connection.delete(key)
    connection.srem("rq:queues", f"rq:queue:{QUEUE}")


def run_worker(app) -> None:
    from rq import SimpleWorker

    backend = jobs.get_backend(app)
    with app.app_context():
        SimpleWorker([backend.queue], connection=backend.connection).work(
            burst=True, with_scheduler=False
        )


def test_run_is_queued_on_redis_and_a_worker_runs_it(app, client, user_headers):
    dataset = upload(client, user_headers, "sample_data.csv")
    response = start(client, user_headers, dataset_id=dataset["id"], algorithm="kmeans")
    assert response.status_code == 202
    run = response.get_json()
    backend = jobs.get_backend(app)
    assert isinstance(backend, jobs.RQBackend)
    assert backend.queue.count == 1
    queued = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert queued["status"] == "queued"
    run_worker(app)
    done = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert done["status"] == "succeeded", done["error"]
    assert done["model_id"] is not None and done["metrics"]["silhouette"] > 0


def test_cancelled_queued_run_is_skipped_by_the_worker(app, client, user_headers):
    dataset = upload(client, user_headers, "sample_data.csv")
    run = start(client, user_headers, dataset_id=dataset["id"], algorithm="kmeans").get_json()
    cancelled = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=user_headers)
    assert cancelled.get_json()["status"] == "cancelled"
    run_worker(app)
    final = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert final["status"] == "cancelled" and final["model_id"] is None


def test_run_page_warns_when_no_worker_runs(app, client, auth):
    from tests.web.test_ml_pages import add_sample

    auth.signup_and_login()
    dataset_id = add_sample(app)
    response = client.post("/runs/new", data={"dataset_id": dataset_id, "algorithm": "kmeans",
                                               "features": ["age", "spending_score"]})  # fmt: skip
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No worker is running" in page and "flask worker" in page


def test_unreachable_redis_is_503_and_the_run_says_why(app, client, user_headers):
    dataset = upload(client, user_headers, "sample_data.csv")
    app.extensions["jobs"] = jobs.RQBackend(app, "redis://127.0.0.1:1/0", QUEUE)
    response = start(client, user_headers, dataset_id=dataset["id"], algorithm="kmeans")
    assert response.status_code == 503
    runs = client.get("/api/v1/runs", headers=user_headers).get_json()["items"]
    assert runs[0]["status"] == "failed" and "could not be queued" in runs[0]["error"]


def test_flask_worker_burst_subprocess(app, client, user_headers, database_url):
    """The real command: a forking RQ worker in another process, on the same database."""
    dataset = upload(client, user_headers, "sample_classification.csv")
    run = start(client, user_headers, dataset_id=dataset["id"], algorithm="decision_tree",
                target="plan").get_json()  # fmt: skip
    env = {
        **os.environ,
        "FLASK_APP": "webapp",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": QUEUE,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "INSTANCE_PATH": app.instance_path,
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "worker", "--burst"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Worker listening on queue '{QUEUE}'" in result.stdout
    final = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert final["status"] == "succeeded", (final["error"], result.stderr[-3000:])


def _age(app, run_id: int, seconds: float = 120) -> None:
    """Make a run look queued for a while (the sweeper leaves fresh runs alone)."""
    from datetime import timedelta

    from webapp.db import get_session, utcnow
    from webapp.models import Run

    with app.app_context():
        session = get_session()
        session.get(Run, run_id).created_at = utcnow() - timedelta(seconds=seconds)
        session.commit()


def test_a_queued_run_whose_job_vanished_from_redis_is_enqueued_again(app, client, user_headers):
    """Redis restarted without persistence: the run is queued again by the sweeper, with
    nobody looking at it, and a worker then runs it."""
    dataset = upload(client, user_headers, "sample_data.csv")
    run = start(client, user_headers, dataset_id=dataset["id"], algorithm="kmeans").get_json()
    backend = jobs.get_backend(app)
    backend.connection.delete(f"rq:job:run-{run['id']}", backend.queue.key)
    assert backend.queue.count == 0
    assert jobs.sweep(app).recovered == 0  # too fresh: its job may still be on its way
    _age(app, run["id"])
    assert jobs.sweep(app).recovered == 1
    assert backend.queue.count == 1
    run_worker(app)
    done = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert done["status"] == "succeeded", done["error"]


def test_a_queued_run_whose_job_died_before_starting_is_failed(app, client, user_headers):
    from rq.job import Job, JobStatus

    dataset = upload(client, user_headers, "sample_data.csv")
    run = start(client, user_headers, dataset_id=dataset["id"], algorithm="kmeans").get_json()
    backend = jobs.get_backend(app)
    job = Job.fetch(f"run-{run['id']}", connection=backend.connection)
    job.set_status(JobStatus.FAILED)
    _age(app, run["id"])
    assert jobs.sweep(app).recovered == 1
    final = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert final["status"] == "failed" and "could not run" in final["error"]
    assert "Error" not in final["error"]  # no internals, just what to do


def _queued_job_runs(backend) -> list[int]:
    return sorted(int(job_id.removeprefix("run-")) for job_id in backend.queue.job_ids)


def test_one_users_many_runs_do_not_hold_up_anothers(app, client, user_headers, other_headers):
    """Fair between users: alice's three runs put one job on the queue; bob's run goes on
    the queue at once and trains before alice's second."""
    from webapp.db import get_session
    from webapp.models import Run

    backend = jobs.get_backend(app)
    alice_data = upload(client, user_headers, "sample_data.csv")
    bob_data = upload(client, other_headers, "sample_data.csv")
    alice = [
        start(client, user_headers, dataset_id=alice_data["id"], algorithm="kmeans").get_json()
        for _ in range(3)
    ]
    assert _queued_job_runs(backend) == [alice[0]["id"]]
    bob = start(client, other_headers, dataset_id=bob_data["id"], algorithm="kmeans").get_json()
    assert _queued_job_runs(backend) == [alice[0]["id"], bob["id"]]
    assert jobs.sweep(app).recovered == 0  # waiting for a slot is not lost

    run_worker(app)  # each finished job enqueues its owner's next run
    with app.app_context():
        finished = {
            run.id: (run.status, run.finished_at)
            for run in get_session().query(Run).filter(Run.id.in_([r["id"] for r in alice + [bob]]))
        }
    assert {status for status, _ in finished.values()} == {"succeeded"}
    order = sorted(finished, key=lambda run_id: finished[run_id][1])
    assert order == [alice[0]["id"], bob["id"], alice[1]["id"], alice[2]["id"]]


def test_cancelling_a_queued_run_enqueues_the_owners_next(app, client, user_headers):
    backend = jobs.get_backend(app)
    dataset = upload(client, user_headers, "sample_data.csv")
    first, second = (
        start(client, user_headers, dataset_id=dataset["id"], algorithm="kmeans").get_json()
        for _ in range(2)
    )
    assert _queued_job_runs(backend) == [first["id"]]
    client.post(f"/api/v1/runs/{first['id']}/cancel", headers=user_headers)
    assert _queued_job_runs(backend) == [second["id"]]


def test_the_sweeper_enqueues_a_waiting_run_whose_slot_freed_unseen(app, client, user_headers):
    """The hand-over at a job's end was missed (the worker died after training): the
    sweeper enqueues the owner's next run."""
    backend = jobs.get_backend(app)
    dataset = upload(client, user_headers, "sample_data.csv")
    first, second = (
        start(client, user_headers, dataset_id=dataset["id"], algorithm="kmeans").get_json()
        for _ in range(2)
    )
    with app.app_context():
        from webapp.db import get_session
        from webapp.services import runs as run_service

        run_service.finish_run(get_session(), first["id"], "failed", error="worker died")
    backend.connection.delete(f"rq:job:run-{first['id']}", backend.queue.key)
    _age(app, second["id"])
    assert jobs.sweep(app).recovered == 1
    assert _queued_job_runs(backend) == [second["id"]]
