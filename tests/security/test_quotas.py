"""Issue 11 #8: limits on expensive work. Runs queued or running per user, uploads per hour
and storage per user answer 429/413 with the limit in the message; the in-process pool
picks runs fairly between users; sign-ups per address are in test_rate_limits.py."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests.ml_helpers import DATA, shutdown_jobs, upload
from tests.utils.auth import create_user
from webapp import jobs
from webapp.db import get_session
from webapp.jobs import FairQueue
from webapp.models import Run, User
from webapp.services import datasets as dataset_service
from webapp.services import runs as run_service

CSV = (DATA / "sample_data.csv").read_bytes()


def user_named(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def queued_runs(app, username: str, count: int, submit=lambda run: None) -> list[int]:
    with app.app_context():
        session = get_session()
        user = user_named(session, username)
        dataset = dataset_service.create_dataset(
            session=session, user=user, filename="s.csv", content=CSV
        )
        ids = []
        for _ in range(count):
            run = run_service.create_run(
                session=session,
                user=user,
                settings=run_service.RunSettings(dataset_id=dataset.id, algorithm="kmeans"),
                submit=submit,
            )
            ids.append(run.id)
        return ids


# -- the fair pick ---------------------------------------------------------------------------


def test_fair_queue_takes_turns_between_users():
    queue = FairQueue(per_user=1)
    for run_id in (1, 2, 3, 4):
        queue.put(owner_id=10, run_id=run_id)  # one user queues four runs ...
    queue.put(owner_id=20, run_id=5)  # ... then another user queues one
    assert queue.pop() == (10, 1)
    assert queue.pop() == (20, 5)  # not behind runs 2-4
    assert queue.pop() is None  # both users are at their one-at-a-time limit
    queue.done(10)
    assert queue.pop() == (10, 2)
    queue.done(20)
    queue.done(10)
    assert [queue.pop(), queue.done(10), queue.pop()] == [(10, 3), None, (10, 4)]
    assert queue.waiting() == 0


def test_fair_queue_serves_the_user_served_longest_ago_first():
    queue = FairQueue(per_user=2)
    for run_id in (1, 2, 3):
        queue.put(10, run_id)
    assert queue.pop() == (10, 1)
    queue.done(10)
    queue.put(20, 4)
    # Both have nothing running; 20 was never served, 10 just was.
    assert queue.pop() == (20, 4)


@pytest.mark.slow
def test_one_users_queue_does_not_hold_up_another_users_run(make_app):
    """The pool (one thread) is busy with alice's first run while alice queues three more
    and then bob queues one: bob's run is the next to start."""
    app = make_app(JOB_WORKERS=1, RUNS_PER_USER_AT_ONCE=1, MAX_ACTIVE_RUNS=10)
    create_user(app, "alice")
    create_user(app, "bob")
    try:
        alice = queued_runs(app, "alice", 4)
        bob = queued_runs(app, "bob", 1)
        with app.app_context():
            backend = jobs.get_backend(app)
            session = get_session()
            for run_id in alice + bob:
                backend.submit(session.get(Run, run_id))
            session.commit()
        assert backend.wait_idle(180)
        with app.app_context():
            rows = get_session().execute(select(Run.id, Run.started_at, Run.status)).all()
        assert {status for _, _, status in rows} == {"succeeded"}
        order = [run_id for run_id, _, _ in sorted(rows, key=lambda row: row.started_at)]
        assert order[:2] == [alice[0], bob[0]], order
    finally:
        shutdown_jobs(app)


# -- quotas ----------------------------------------------------------------------------------


class TestRunQuota:
    @pytest.fixture
    def app_config(self):
        return {"MAX_ACTIVE_RUNS": 2}

    def test_a_third_active_run_is_a_429_naming_the_limit(self, client, app, api):
        headers = api.headers("alice")
        queued_runs(app, "alice", 2)
        with app.app_context():
            dataset_id = get_session().scalar(select(Run.dataset_id))
        response = client.post(
            "/api/v1/runs", json={"dataset_id": dataset_id, "algorithm": "kmeans"}, headers=headers
        )
        assert response.status_code == 429
        message = response.get_json()["error"]["message"]
        assert "2 runs queued or running" in message and "MAX_ACTIVE_RUNS" in message
        assert response.headers["Retry-After"]
        # Another user is not affected by alice's queue.
        create_user(app, "bob")
        assert len(queued_runs(app, "bob", 2)) == 2


class TestUploadQuotas:
    @pytest.fixture
    def app_config(self):
        return {"UPLOADS_PER_HOUR": 2}

    def test_uploads_per_hour(self, client, api):
        headers = api.headers("alice")
        upload(client, headers)
        upload(client, headers)
        response = client.post(
            "/api/v1/datasets",
            headers=headers,
            data={"file": (io.BytesIO(CSV), "third.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 429
        assert "UPLOADS_PER_HOUR" in response.get_json()["error"]["message"]


class TestStorageQuota:
    @pytest.fixture
    def app_config(self):
        return {"STORAGE_QUOTA_BYTES": len(CSV) * 2 + 10}

    def test_storage_over_the_quota_is_a_413_naming_it(self, client, api, auth):
        headers = api.headers("alice")
        upload(client, headers)
        upload(client, headers)
        response = client.post(
            "/api/v1/datasets",
            headers=headers,
            data={"file": (io.BytesIO(CSV), "third.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413
        message = response.get_json()["error"]["message"]
        assert "storage quota" in message and "STORAGE_QUOTA_MB" in message
        # The browser says the same.
        auth.login("alice")
        page = client.post(
            "/datasets/",
            data={"file": (io.BytesIO(CSV), "third.csv")},
            content_type="multipart/form-data",
        )
        assert page.status_code == 413
        assert "storage quota" in page.get_data(as_text=True)
