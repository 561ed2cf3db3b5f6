"""``Idempotency-Key`` on API POSTs: a retry replays the first answer instead of creating a
duplicate; another request with the same key is a 422; concurrent duplicates create once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from tests.ml_helpers import DATA
from webapp.api import idempotency
from webapp.db import get_session, utcnow
from webapp.models import IdempotencyKey, Task

KEY = "3f0c2a6e-1d7b-4c1e-9a55-0a1b2c3d4e5f"


def _task_count(app, title: str) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count(Task.id)).where(Task.title == title))


def _post_task(client, headers, title="Buy milk", key=KEY, **extra):
    return client.post(
        "/api/v1/tasks", json={"title": title, **extra}, headers={**headers, "Idempotency-Key": key}
    )


def test_a_retry_replays_the_first_answer_and_creates_nothing(app, client, user_headers):
    first = _post_task(client, user_headers)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    again = _post_task(client, user_headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.mimetype == "application/json"
    assert _task_count(app, "Buy milk") == 1


def test_without_a_key_every_post_creates(app, client, user_headers):
    for _ in range(2):
        assert (
            client.post("/api/v1/tasks", json={"title": "Twice"}, headers=user_headers).status_code
            == 201
        )
    assert _task_count(app, "Twice") == 2


def test_json_key_order_does_not_matter(app, client, user_headers):
    body_a = '{"title": "Ordered", "priority": "high"}'
    body_b = '{"priority": "high", "title": "Ordered"}'
    for body in (body_a, body_b):
        response = client.post(
            "/api/v1/tasks", data=body, content_type="application/json",
            headers={**user_headers, "Idempotency-Key": KEY},
        )  # fmt: skip
        assert response.status_code == 201
    assert _task_count(app, "Ordered") == 1


def test_the_same_key_for_another_request_is_a_422(app, client, user_headers):
    assert _post_task(client, user_headers, title="First").status_code == 201
    other = _post_task(client, user_headers, title="Second")
    assert other.status_code == 422
    error = other.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "Idempotency-Key"
    assert _task_count(app, "Second") == 0
    other_path = client.post(
        "/api/v1/boards", json={"name": "First"}, headers={**user_headers, "Idempotency-Key": KEY}
    )
    assert other_path.status_code == 422


def test_keys_belong_to_their_user(app, client, user_headers, other_headers):
    assert _post_task(client, user_headers, title="Mine").status_code == 201
    theirs = _post_task(client, other_headers, title="Mine")
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert _task_count(app, "Mine") == 2


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there"])
def test_a_malformed_key_is_a_400(app, client, user_headers, key):
    response = _post_task(client, user_headers, title="Bad key", key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["message"]
    assert _task_count(app, "Bad key") == 0


def test_an_expired_key_is_a_new_request(app, client, user_headers):
    assert _post_task(client, user_headers, title="Old").status_code == 201
    with app.app_context():
        session = get_session()
        session.execute(update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    again = _post_task(client, user_headers, title="Old")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert _task_count(app, "Old") == 2
    with app.app_context():  # the expired row was replaced, not kept beside the new one
        assert get_session().scalar(select(func.count(IdempotencyKey.id))) == 1


def test_keys_live_for_the_configured_hours(app, client, user_headers):
    assert _post_task(client, user_headers).status_code == 201
    with app.app_context():
        row = get_session().scalars(select(IdempotencyKey)).one()
        lifetime = row.expires_at - row.created_at
    assert lifetime == timedelta(hours=app.config["IDEMPOTENCY_KEY_HOURS"])


def test_a_deliberate_error_releases_the_key(app, client, user_headers):
    """A 422 stores nothing, so fixing the request and sending it again with the key works."""
    bad = _post_task(client, user_headers, title="Fixed", board_id=999_999)
    assert bad.status_code == 422
    with app.app_context():
        assert get_session().scalar(select(func.count(IdempotencyKey.id))) == 0
    assert _post_task(client, user_headers, title="Fixed").status_code == 201


def test_a_request_still_running_is_a_409(app, client, user_headers):
    assert _post_task(client, user_headers, title="Running").status_code == 201
    with app.app_context():  # the row as the claim leaves it while the view runs
        session = get_session()
        session.execute(update(IdempotencyKey).values(status=None, response_body=None))
        session.commit()
    running = _post_task(client, user_headers, title="Running")
    assert running.status_code == 409
    assert running.headers["Retry-After"] == "1"
    assert "still being carried out" in running.get_json()["error"]["message"]
    assert _task_count(app, "Running") == 1


def test_work_saved_before_the_database_failed_is_not_done_twice(
    app, client, user_headers, monkeypatch
):
    """The issue's case: the task was committed, then the database went away before the
    answer; the client saw a 503 and retries with the same key."""
    from webapp.api import tasks as tasks_api

    def database_gone(task, status=200):
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(tasks_api, "_respond", database_gone)
    first = _post_task(client, user_headers, title="Saved once")
    assert first.status_code == 503
    assert _task_count(app, "Saved once") == 1
    monkeypatch.undo()
    soon = _post_task(client, user_headers, title="Saved once")
    assert soon.status_code == 409
    with app.app_context():
        session = get_session()
        session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(minutes=5)))
        session.commit()
    later = _post_task(client, user_headers, title="Saved once")
    assert later.status_code == 409
    assert "was carried out" in later.get_json()["error"]["message"]
    assert _task_count(app, "Saved once") == 1


def test_concurrent_duplicates_create_once(app, user_headers):
    """Eight clients send the same request with the same key at the same moment."""
    barrier = threading.Barrier(8)
    answers: list = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = _post_task(client, user_headers, title="Raced")
        answers.append((response.status_code, response.headers.get("Idempotent-Replayed")))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 8
    assert _task_count(app, "Raced") == 1
    assert {status for status, _ in answers} <= {201, 409}
    assert sum(1 for status, replayed in answers if status == 201 and not replayed) == 1


def test_an_upload_retried_with_a_new_multipart_boundary_is_replayed(app, client, user_headers):
    content = (DATA / "sample_data.csv").read_bytes()
    answers = []
    for boundary in ("----first-boundary", "----second-boundary"):
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="sample_data.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        answers.append(
            client.post(
                "/api/v1/datasets",
                data=body,
                content_type=f"multipart/form-data; boundary={boundary}",
                headers={**user_headers, "Idempotency-Key": "upload-1"},
            )  # fmt: skip
        )
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert answers[0].get_json()["id"] == answers[1].get_json()["id"]
    listed = client.get("/api/v1/datasets", headers=user_headers).get_json()
    assert listed["total"] == 1


def test_the_openapi_document_declares_the_header_on_authenticated_posts(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    posts = {
        path: op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method == "post"
    }
    create = posts["/api/v1/tasks"]
    assert idempotency.OPENAPI_PARAMETER in create["parameters"]
    assert {"409", "422"} <= set(create["responses"])
    login = posts["/api/v1/auth/login"]
    assert all(p["name"] != "Idempotency-Key" for p in login.get("parameters", []))
