"""An RQ worker killed mid-training (SIGKILL to it and its work-horse: a container dying).

Nobody looks at the run: the test reads the database directly, never the run's page or API
(which do not write anyway). The web server's sweeper must fail the run once its heartbeat
is older than ``RUN_HEARTBEAT_TIMEOUT``, with the reason; a retry on a new worker succeeds.
"""

from __future__ import annotations

import io
import time

import numpy as np
import requests
from sqlalchemy import create_engine, text

from tests.ops.services import Gunicorn, PrivateRedis, RQWorker, app_env, migrate, wait_until

PASSWORD = "ops-password-123"
HEARTBEAT_TIMEOUT = 3
SWEEP_SECONDS = 1


def _training_csv(rows: int = 6000) -> bytes:
    """A classification table big enough for a forest to train for a few seconds."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(rows, 8))
    label = features[:, 0] + features[:, 1] * features[:, 2] + rng.normal(0, 0.5, rows) > 0
    out = io.StringIO()
    out.write(",".join(f"x{i}" for i in range(8)) + ",label\n")
    for row, yes in zip(features, label, strict=True):
        out.write(",".join(f"{v:.4f}" for v in row) + (",yes\n" if yes else ",no\n"))
    return out.getvalue().encode()


def test_a_killed_worker_fails_its_run_with_nobody_watching(postgres, figures):
    url = postgres.create_database("ops_worker_killed")
    migrate(url)
    redis = PrivateRedis(persistent=False)
    env = app_env(url, redis.url, RUN_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT,
                  RUN_SWEEP_SECONDS=SWEEP_SECONDS)  # fmt: skip
    web = Gunicorn(env, workers=1)
    worker = RQWorker(env, name="worker-1")
    second = None
    engine = create_engine(url)

    def run_row(run_id: int):
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT status, error FROM runs WHERE id = :id"), {"id": run_id}
            ).one()

    try:
        http = requests.Session()
        assert http.post(f"{web.url}/api/v1/auth/register", json={
            "email": "ada@example.com", "username": "ada", "password": PASSWORD,
        }).status_code == 201  # fmt: skip
        token = http.post(
            f"{web.url}/api/v1/auth/login", json={"username": "ada", "password": PASSWORD}
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        dataset = http.post(
            f"{web.url}/api/v1/datasets", files={"file": ("forest.csv", _training_csv())}
        ).json()
        response = http.post(f"{web.url}/api/v1/runs", json={
            "dataset_id": dataset["id"], "algorithm": "random_forest", "target": "label",
            "params": {"n_estimators": 150},
        })  # fmt: skip
        assert response.status_code == 202, response.text
        run_id = response.json()["id"]

        wait_until(lambda: run_row(run_id).status == "running", 60, "the run to start", 0.05)
        worker.kill()
        killed = time.monotonic()
        wait_until(lambda: run_row(run_id).status != "running", 60, "the reaper", 0.1)
        noticed = time.monotonic()
        status, error = run_row(run_id)
        assert status == "failed"
        assert "stopped responding" in error

        retry = http.post(f"{web.url}/api/v1/runs/{run_id}/retry")
        assert retry.status_code == 202, retry.text
        new_id = retry.json()["id"]
        second = RQWorker(env, name="worker-2")
        wait_until(lambda: run_row(new_id).status in ("succeeded", "failed"), 180, "the retry", 0.5)
        assert run_row(new_id).status == "succeeded", run_row(new_id).error
        figures.update(
            heartbeat_timeout_s=HEARTBEAT_TIMEOUT,
            sweep_interval_s=SWEEP_SECONDS,
            seconds_from_kill_to_failed=round(noticed - killed, 2),
            retry=run_row(new_id).status,
        )
        # Bounded, with room for a loaded machine: the timeout, a sweep, and slack.
        assert noticed - killed < HEARTBEAT_TIMEOUT + SWEEP_SECONDS + 20
    except BaseException:
        print(web.tail(60))
        print(worker.tail(60))
        if second is not None:
            print(second.tail(60))
        raise
    finally:
        worker.stop()
        if second is not None:
            second.stop()
        web.stop()
        redis.close()
        engine.dispose()
