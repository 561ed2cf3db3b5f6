"""The probes and metrics: ``/health`` (liveness), ``/ready`` (readiness), ``/metrics``; and
what the app answers while its database is down (503 with ``Retry-After``, not 500)."""

from __future__ import annotations

import re
import socket

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from tests.conftest import TEST_SECRET, alembic_config, make_test_app
from tests.ml_helpers import train, upload
from webapp.db import get_engine
from webapp.main import health as health_module


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # free once closed: nothing listens there


UNREACHABLE = {
    "sqlite-missing-dir": "sqlite:////nonexistent-directory/for/sure/playground.db",
    "postgres-closed-port": (
        f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/nothing?connect_timeout=2"
    ),
}


@pytest.fixture
def make_app(database_url, tmp_path):
    """Apps on the test database with other settings; their connections closed after."""
    made = []

    def make(url=None, **overrides):
        app = make_test_app(url or database_url, tmp_path / f"instance-{len(made)}", **overrides)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            get_engine().dispose()


@pytest.fixture(params=UNREACHABLE.values(), ids=UNREACHABLE.keys())
def down_app(request, tmp_path):
    """An app whose database cannot be reached."""
    return make_test_app(request.param, tmp_path / "instance")


# -- /health ---------------------------------------------------------------------------------


def test_health_is_ok(client, app):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": app.config["VERSION"]}


def test_health_does_not_depend_on_the_database(down_app):
    """Liveness: an orchestrator must not restart web servers because the database is down."""
    response = down_app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


# -- /ready ----------------------------------------------------------------------------------


def test_ready_when_the_database_answers_and_is_migrated(client):
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "rate_limits": "ok"}


def test_not_ready_while_the_database_is_down(down_app, caplog):
    response = down_app.test_client().get("/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "unavailable"
    assert "database unavailable" in caplog.text  # the reason goes to the log, not the client


def test_not_ready_until_the_migrations_reach_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0003")
    app = make_test_app(url, tmp_path / "instance")
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok"
    assert checks["migrations"].startswith("at 0003, expected ")
    command.upgrade(alembic_config(url), "head")
    assert app.test_client().get("/ready").status_code == 200


def test_not_ready_before_any_migration(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "instance")
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"].startswith("not migrated")


def test_ready_checks_redis_when_configured(make_app):
    app = make_app(
        REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
        RATELIMIT_STORAGE_URI="memory://",
    )
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"] == "unavailable"


def test_ready_with_redis_up(make_app):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/13"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    app = make_app(REDIS_URL=url)
    response = app.test_client().get("/ready")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["redis"] == "ok"


def test_registered_readiness_checks_count(client, monkeypatch):
    checks = dict(health_module.READINESS_CHECKS)
    monkeypatch.setattr(health_module, "READINESS_CHECKS", checks)
    health_module.readiness_check("limiter")(lambda app: "storage unreachable")
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["limiter"] == "storage unreachable"

    def broken(app):
        raise RuntimeError("boom")

    health_module.readiness_check("limiter")(broken)
    response = client.get("/ready")
    assert response.status_code == 503  # a crashing check is "not ready", not a 500
    assert response.get_json()["checks"]["limiter"] == "failed: RuntimeError"


# -- the database down: 503, not 500 ---------------------------------------------------------


def _token(app) -> str:
    from datetime import timedelta

    from webapp.security import ACCESS, create_token

    token, _, _ = create_token(
        user_id=1, token_type=ACCESS, secret=app.config["JWT_SECRET_KEY"],
        lifetime=timedelta(minutes=5), stamp="any",
    )  # fmt: skip
    return token


def test_api_answers_503_with_retry_after_while_the_database_is_down(down_app, caplog):
    client = down_app.test_client()
    response = client.post(
        "/api/v1/tasks",
        json={"title": "x"},
        headers={"Authorization": f"Bearer {_token(down_app)}"},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert "database" in response.get_json()["error"]["message"]
    assert "Unhandled error" not in caplog.text  # an outage is not logged as a bug


def test_pages_answer_a_503_page_while_the_database_is_down(down_app):
    client = down_app.test_client()
    response = client.post("/auth/login", data={"login": "ada", "password": "a-long-password"})
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"].isdigit()
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_a_logged_in_page_is_503_not_a_log_in_prompt_while_the_database_is_down(make_app, tmp_path):
    """The session cookie of a working app, then the database goes away."""
    app = make_app()
    from tests.utils.auth import AuthActions

    client = app.test_client()
    AuthActions(client, app).signup_and_login("ada")
    cookie = client.get_cookie("session")
    down = make_test_app(UNREACHABLE["sqlite-missing-dir"], tmp_path / "down")
    down_client = down.test_client()
    down_client.set_cookie("session", cookie.value)
    response = down_client.get("/boards")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()


def test_sql_mistakes_are_still_500s(app, client, monkeypatch):
    """Only an unreachable database is a 503: a bad statement is a bug and says so."""
    from webapp.errors import is_database_outage

    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT no_such_column FROM users"))
    except Exception as exc:
        assert not is_database_outage(exc)
    else:  # pragma: no cover
        pytest.fail("the statement should have failed")
    finally:
        engine.dispose()


# -- /metrics --------------------------------------------------------------------------------


def _sample(text_: str, name: str, **labels) -> float | None:
    for line in text_.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    return None


def test_metrics_count_requests_by_endpoint_and_status(client):
    before = client.get("/metrics").get_data(as_text=True)
    start = _sample(before, "playground_http_requests_total", endpoint="main.health", status="200")
    for _ in range(3):
        client.get("/health")
    client.get("/no/such/page")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    count = _sample(body, "playground_http_requests_total", endpoint="main.health", status="200")
    assert count == (start or 0) + 3
    assert _sample(body, "playground_http_requests_total", endpoint="unmatched", status="404")
    assert (
        _sample(body, "playground_http_request_duration_seconds_count", endpoint="main.health") >= 3
    )


def test_metrics_report_runs_by_status_with_durations(app, client, api):
    headers = api.headers("ada")
    dataset = upload(client, headers)
    for k in (2, 3):
        run = train(client, headers, app=app, dataset_id=dataset["id"], algorithm="kmeans",
                    params={"k": k})  # fmt: skip
        assert run["status"] == "succeeded"
    body = client.get("/metrics").get_data(as_text=True)
    assert _sample(body, "playground_database_up") == 1
    assert _sample(body, "playground_runs", status="succeeded") == 2
    assert _sample(body, "playground_runs", status="queued") == 0
    assert _sample(body, "playground_run_duration_seconds_count", status="succeeded") == 2
    assert (
        _sample(body, "playground_run_duration_seconds_bucket", status="succeeded", le="+Inf") == 2
    )
    assert _sample(body, "playground_run_duration_seconds_sum", status="succeeded") >= 0
    assert _sample(body, "playground_job_queue_length", backend="inprocess") == 0
    assert _sample(body, "playground_job_workers", backend="inprocess") == app.config["JOB_WORKERS"]


def test_metrics_still_answer_while_the_database_is_down(down_app):
    response = down_app.test_client().get("/metrics")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _sample(body, "playground_database_up") == 0
    assert "playground_http_requests_total" in body


def test_the_secret_is_not_in_the_metrics(client):
    assert TEST_SECRET not in client.get("/metrics").get_data(as_text=True)


def test_log_in_works_while_the_rate_limit_storage_is_down(make_app):
    """Redis down must not take log-in with it: limits fall back to the process's memory."""
    closed = f"redis://127.0.0.1:{_closed_port()}/0"
    app = make_app(REDIS_URL=closed, RATELIMIT_STORAGE_URI=closed)
    response = app.test_client().post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "not-a-password"}
    )
    assert response.status_code == 401


def test_ready_says_when_rate_limits_fell_back_to_memory(make_app):
    """Log-in keeps working while Redis is down (limits fall back to memory): /ready says so."""
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_closed_port()}/0")
    checks = app.test_client().get("/ready").get_json()["checks"]
    assert checks["rate_limits"].startswith("unreachable")
    fine = make_app().test_client().get("/ready").get_json()["checks"]
    assert fine["rate_limits"] == "ok"
