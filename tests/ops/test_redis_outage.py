"""Redis stopped and started again, with and without persistence, behind a real gunicorn.

Three runs are queued while no worker runs; then Redis stops. While it is down, pages and
log-in (browser and API) keep working (rate limits fall back to the process's memory) and a
new run is refused with a clear 503. Redis comes back: with persistence (an append-only
file) the jobs are still queued; without it they are gone and the web server's sweeper
enqueues them again (once they are older than ``LOST_JOB_GRACE``). A worker then trains all
three.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.ml_helpers import DATA
from tests.ops.services import Gunicorn, PrivateRedis, RQWorker, app_env, migrate, wait_until

PASSWORD = "ops-password-123"
RUNS = 3


def _log_in_through_the_form(url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/auth/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{url}/auth/login", data={"csrf_token": token, "login": "ada", "password": PASSWORD},
        allow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 302, response.text[:500]
    return session


@pytest.mark.parametrize("persistent", [True, False], ids=["persistent", "not-persistent"])
def test_redis_stopped_and_restarted(postgres, figures, persistent):
    url = postgres.create_database(f"ops_redis_{'aof' if persistent else 'volatile'}")
    migrate(url)
    redis = PrivateRedis(persistent=persistent)
    # All three of ada's runs wait on the queue at once (by default one would, the others
    # in the database for fairness): what Redis keeps or loses is then all of them.
    env = app_env(url, redis.url, RUNS_PER_USER_AT_ONCE=str(RUNS))
    web = Gunicorn(env, workers=2)
    worker = None
    engine = create_engine(url)
    try:
        http = requests.Session()
        assert http.post(f"{web.url}/api/v1/auth/register", json={
            "email": "ada@example.com", "username": "ada", "password": PASSWORD,
        }).status_code == 201  # fmt: skip
        token = http.post(
            f"{web.url}/api/v1/auth/login", json={"username": "ada", "password": PASSWORD}
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        with (DATA / "sample_data.csv").open("rb") as file:
            dataset = http.post(f"{web.url}/api/v1/datasets", files={"file": file}).json()
        queued = []
        for k in range(2, 2 + RUNS):
            response = http.post(f"{web.url}/api/v1/runs", json={
                "dataset_id": dataset["id"], "algorithm": "kmeans", "params": {"k": k},
            })  # fmt: skip
            assert response.status_code == 202, response.text
            queued.append(response.json()["id"])

        redis.stop()
        went_down = time.monotonic()
        # Pages and log-in work; a new run is refused with a clear message.
        assert requests.get(f"{web.url}/", timeout=30).status_code == 200
        browser = _log_in_through_the_form(web.url)
        assert browser.get(f"{web.url}/boards").status_code == 200
        api_login = requests.post(
            f"{web.url}/api/v1/auth/login",
            json={"username": "ada", "password": PASSWORD},
            timeout=30,
        )
        assert api_login.status_code == 200
        refused = http.post(f"{web.url}/api/v1/runs", json={
            "dataset_id": dataset["id"], "algorithm": "kmeans",
        })  # fmt: skip
        assert refused.status_code == 503
        assert "job queue is unavailable" in refused.json()["error"]["message"]
        assert refused.headers["Retry-After"].isdigit()
        ready = requests.get(f"{web.url}/ready", timeout=30).json()
        assert ready["checks"]["redis"] == "unavailable"

        redis.start()
        came_up = time.monotonic()
        from redis import Redis

        jobs_kept = Redis.from_url(redis.url).llen(f"rq:queue:{env['RQ_QUEUE']}")
        assert jobs_kept == (RUNS if persistent else 0)
        worker = RQWorker(env)

        def statuses() -> dict:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT id, status FROM runs WHERE id = ANY(:ids)"), {"ids": queued}
                )
                return dict(rows.all())

        wait_until(lambda: set(statuses().values()) == {"succeeded"}, 120, "the queued runs", 0.5)
        recovered = time.monotonic()
        again = http.post(f"{web.url}/api/v1/runs", json={
            "dataset_id": dataset["id"], "algorithm": "kmeans",
        })  # fmt: skip
        assert again.status_code == 202
        assert requests.get(f"{web.url}/ready", timeout=30).status_code == 200
        figures.update(
            persistent=persistent,
            runs_queued_before_the_outage=RUNS,
            jobs_still_in_redis_after_restart=jobs_kept,
            runs_recovered=sum(s == "succeeded" for s in statuses().values()),
            seconds_down=round(came_up - went_down, 1),
            seconds_from_redis_back_to_all_trained=round(recovered - came_up, 1),
        )
    except BaseException:
        print(web.tail(60))
        if worker is not None:
            print(worker.tail(60))
        raise
    finally:
        if worker is not None:
            worker.stop()
        web.stop()
        redis.close()
        engine.dispose()
