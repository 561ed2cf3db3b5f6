"""Request ids (answered, logged, carried into jobs) and JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest

from tests.conftest import make_test_app
from tests.ml_helpers import start, train, upload
from webapp import jobs
from webapp.config import ConfigError
from webapp.db import get_engine
from webapp.observability import REQUEST_ID_HEADER


def _our_handler() -> logging.StreamHandler:
    return next(h for h in logging.getLogger().handlers if getattr(h, "playground", False))


@pytest.fixture
def log_lines():
    """What our root handler (the newest app's) writes, as lines: call it after the requests."""
    stream = io.StringIO()
    handlers = {}

    def lines() -> list[str]:
        return stream.getvalue().splitlines()

    def attach():
        handler = _our_handler()
        handlers.setdefault(handler, handler.setStream(stream))
        return lines

    yield attach
    for handler, old in handlers.items():
        handler.setStream(old)


def test_every_answer_has_a_request_id(client):
    first = client.get("/health").headers[REQUEST_ID_HEADER]
    second = client.get("/no/such/page").headers[REQUEST_ID_HEADER]
    assert len(first) == 32 and len(second) == 32 and first != second


def test_the_callers_request_id_is_kept(client):
    given = "lb-7f3a.2:1"
    assert client.get("/health", headers={REQUEST_ID_HEADER: given}).headers[REQUEST_ID_HEADER] == (
        given
    )


@pytest.mark.parametrize("given", ["", "has space", "x" * 129, "new\\nline", "é"])
def test_an_unusable_request_id_is_replaced(client, given):
    answered = client.get("/health", headers={REQUEST_ID_HEADER: given}).headers[REQUEST_ID_HEADER]
    assert answered != given and len(answered) == 32


@pytest.fixture
def make_app(database_url, tmp_path):
    """Apps on the test database with other settings; their connections closed after."""
    made = []

    def make(**overrides):
        app = make_test_app(database_url, tmp_path / f"instance-{len(made)}", **overrides)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            get_engine().dispose()


def test_json_log_lines_carry_the_request_id(make_app, log_lines):
    app = make_app(LOG_FORMAT="json")
    try:
        lines = log_lines()
        response = app.test_client().get("/health", headers={REQUEST_ID_HEADER: "req-json-1"})
        assert response.status_code == 200
        records = [json.loads(line) for line in lines()]  # every line is one JSON object
        request_line = next(r for r in records if r.get("path") == "/health")
        assert request_line["request_id"] == "req-json-1"
        assert request_line["level"] == "INFO"
        assert request_line["logger"] == "webapp.requests"
        assert request_line["status"] == 200 and request_line["method"] == "GET"
        assert request_line["duration_ms"] >= 0
        assert "time" in request_line and "message" in request_line
    finally:
        make_app()  # back to text lines for other tests


def test_text_log_lines_carry_the_request_id(client, log_lines):
    lines = log_lines()
    client.get("/health", headers={REQUEST_ID_HEADER: "req-text-1"})
    assert any("[req-text-1]" in line and "GET /health 200" in line for line in lines())


def test_only_one_handler_however_many_apps(make_app):
    for _ in range(3):
        make_app()
    ours = [h for h in logging.getLogger().handlers if getattr(h, "playground", False)]
    assert ours == [_our_handler()]


@pytest.mark.parametrize("setting", [{"LOG_FORMAT": "xml"}, {"LOG_LEVEL": "CHATTY"}])
def test_bad_log_settings_are_refused_at_start(database_url, tmp_path, setting):
    with pytest.raises(ConfigError):
        make_test_app(database_url, tmp_path / "instance", **setting)


def test_the_in_process_job_logs_under_the_id_of_the_request_that_queued_it(
    app, client, api, caplog
):
    headers = api.headers("ada")
    dataset = upload(client, headers)
    caplog.set_level(logging.INFO, logger="webapp.jobs")
    rid = f"run-req-{uuid.uuid4().hex[:8]}"
    run = train(client, {**headers, REQUEST_ID_HEADER: rid}, app=app,
                dataset_id=dataset["id"], algorithm="kmeans")  # fmt: skip
    assert run["status"] == "succeeded"
    job_lines = [r for r in caplog.records if r.name == "webapp.jobs"]
    assert any(f"Run {run['id']}: job started" in r.getMessage() for r in job_lines)
    assert any(f"Run {run['id']}: job ended (succeeded)" in r.getMessage() for r in job_lines)
    assert {r.request_id for r in job_lines} == {rid}


def test_the_rq_job_gets_the_id_of_the_request_that_queued_it(database_url, tmp_path, api, caplog):
    from redis import Redis
    from rq import SimpleWorker
    from rq.job import Job

    url = "redis://127.0.0.1:6379/12"
    connection = Redis.from_url(url, socket_connect_timeout=1)
    try:
        connection.ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    queue_name = f"test-obs-{uuid.uuid4().hex[:8]}"
    app = make_test_app(database_url, tmp_path / "instance", REDIS_URL=url, RQ_QUEUE=queue_name)
    client = app.test_client()
    from tests.utils.auth import ApiAuth

    headers = ApiAuth(client, app).headers("ada")
    try:
        dataset = upload(client, headers)
        response = start(client, {**headers, REQUEST_ID_HEADER: "rq-req-1"},
                         dataset_id=dataset["id"], algorithm="kmeans")  # fmt: skip
        assert response.status_code == 202
        run_id = response.get_json()["id"]
        job = Job.fetch(jobs.RQBackend.job_id(run_id), connection=connection)
        assert job.args == (run_id, "rq-req-1") or list(job.args) == [run_id, "rq-req-1"]
        caplog.set_level(logging.INFO, logger="webapp.jobs")
        backend = jobs.get_backend(app)
        with app.app_context():
            SimpleWorker([backend.queue], connection=connection).work(
                burst=True, with_scheduler=False
            )
        ended = [r for r in caplog.records if f"Run {run_id}: job ended" in r.getMessage()]
        assert ended and ended[0].request_id == "rq-req-1"
    finally:
        for key in connection.scan_iter(f"*{queue_name}*"):
            connection.delete(key)
        for key in connection.scan_iter("rq:*run-*"):
            connection.delete(key)
        connection.srem("rq:queues", f"rq:queue:{queue_name}")
        from tests.conftest import _empty_tables

        with app.app_context():
            _empty_tables(app)
