"""GET /health: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import make_test_app


def test_health_ok(client, app):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "version": app.config["VERSION"],
        "database": "ok",
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # free once closed: nothing listens there


@pytest.mark.parametrize(
    "database_url",
    [
        "sqlite:////nonexistent-directory/for/sure/playground.db",
        f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/nothing?connect_timeout=2",
    ],
    ids=["sqlite-missing-dir", "postgres-closed-port"],
)
def test_health_is_503_when_the_database_is_unreachable(tmp_path, database_url, caplog):
    app = make_test_app(database_url, tmp_path / "instance")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["database"] == "unavailable"
    assert body["version"] == app.config["VERSION"]
    assert "database unavailable" in caplog.text  # the reason goes to the log, not the client
