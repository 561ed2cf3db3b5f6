"""Probes and metrics for whoever runs the app: ``/health``, ``/ready`` and ``/metrics``.

- ``/health`` is liveness: the process answers requests. It touches nothing else, so a
  database outage never makes an orchestrator restart healthy web servers (that would turn
  an outage into a restart storm).
- ``/ready`` is readiness: the database answers, its schema is at the migrations' head (a
  server of a newer release waits for the migration job), and Redis answers when
  ``REDIS_URL`` is set. 503 with each check's state while any fails, so a load balancer
  sends traffic elsewhere. Other parts of the app add checks with :func:`readiness_check`.
- ``/metrics`` is the Prometheus exposition of :mod:`webapp.observability`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify
from sqlalchemy import text

from webapp import observability
from webapp.config import ROOT
from webapp.db import get_session
from webapp.extensions import limiter_status
from webapp.main import bp

log = logging.getLogger(__name__)
OK = "ok"

# name -> check(app) returning "ok" or what is wrong. The database, migrations and Redis are
# built in; register more with @readiness_check("name") (e.g. the rate limiter's storage).
READINESS_CHECKS: dict[str, Callable[[Flask], str]] = {}


def readiness_check(name: str):
    def register(check: Callable[[Flask], str]) -> Callable[[Flask], str]:
        READINESS_CHECKS[name] = check
        return check

    return register


@readiness_check("rate_limits")
def _rate_limits(app: Flask) -> str:
    """Limits fail open to each process's memory when their storage (Redis) is down: say so."""
    status = limiter_status()
    return OK if status["ok"] else status["detail"]


@bp.get("/health")
def health():
    """Liveness: 200 whenever the process can answer."""
    return jsonify({"status": "ok", "version": current_app.config["VERSION"]})


@bp.get("/ready")
def ready():
    """Readiness: 200 when everything a request needs answers, else 503 saying what does not."""
    app = current_app._get_current_object()
    checks = {}
    checks["database"], checks["migrations"] = _database(app)
    if app.config.get("REDIS_URL"):
        checks["redis"] = _redis(app)
    for name, check in READINESS_CHECKS.items():
        try:
            checks[name] = check(app)
        except Exception as exc:  # a failing check is a "not ready", never a 500
            log.warning("Readiness check %s failed", name, exc_info=True)
            checks[name] = f"failed: {type(exc).__name__}"
    is_ready = all(state == OK for state in checks.values())
    body = {
        "status": "ready" if is_ready else "not ready",
        "version": app.config["VERSION"],
        "checks": checks,
    }
    return jsonify(body), 200 if is_ready else 503


def _database(app: Flask) -> tuple[str, str]:
    session = get_session()
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "down"; the reason goes to the log
        session.rollback()
        log.warning("Readiness: database unavailable: %s", exc)
        return "unavailable", "unknown"
    try:
        current = set(session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception:
        session.rollback()
        return OK, "not migrated (run `alembic upgrade head`)"
    session.rollback()
    heads = _migration_heads(app)
    if current == heads:
        return OK, OK
    return OK, f"at {', '.join(sorted(current)) or 'nothing'}, expected {', '.join(sorted(heads))}"


def _migration_heads(app: Flask) -> set[str]:
    heads = app.extensions.get("migration_heads")
    if heads is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(ROOT / "migrations"))
        heads = set(ScriptDirectory.from_config(config).get_heads())
        app.extensions["migration_heads"] = heads
    return heads


def _redis(app: Flask) -> str:
    client = app.extensions.get("ready_redis")
    if client is None:
        from redis import Redis

        client = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1)
        app.extensions["ready_redis"] = client
    try:
        client.ping()
    except Exception as exc:
        log.warning("Readiness: Redis unavailable: %s", exc)
        return "unavailable"
    return OK


@bp.get("/metrics")
def metrics():
    """Prometheus metrics (text exposition format)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    body = observability.render_metrics(current_app._get_current_object())
    return Response(body, content_type=CONTENT_TYPE_LATEST)
