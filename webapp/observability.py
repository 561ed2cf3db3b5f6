"""Observability: a request id on every request and log line, JSON logs, Prometheus metrics.

**Request ids.** Every request gets an id: the caller's ``X-Request-ID`` when it is a sane
token (so a load balancer's or client's id follows the request), else a new one. It is
answered in ``X-Request-ID``, stamped on every log record made while the request runs, and
handed to the job a request queues (:mod:`webapp.jobs` sets :data:`request_id_var` in the
worker), so one grep finds a run's whole story across the web server and the worker.

**Logs.** One handler on the root logger, plain text or, with ``LOG_FORMAT=json``, one JSON
object per line (python-json-logger) with ``time``, ``level``, ``logger``, ``message`` and
``request_id``. The id is added by a log-record factory rather than a handler filter, so
every handler sees it (gunicorn's, RQ's, pytest's). Each request ends with one ``request``
line (method, path, status, duration): gunicorn's own access log lacks the id, so
``gunicorn.conf.py`` turns it off.

**Metrics.** Per-process counters and histograms (requests by endpoint, method and status,
and their latency) live in prometheus_client. Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR``
makes each worker write them to memory-mapped files that ``/metrics`` adds up, whichever
worker answers the scrape. The job figures (runs by status, run durations, the queue length,
workers) are read from the database and the queue at scrape time instead: the run row is
the truth and jobs run in other processes (RQ workers) that nobody scrapes, so every web
server reports the same cluster-wide numbers for them (aggregate them with ``max``, not
``sum``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from flask import Flask, g, has_request_context, request
from prometheus_client import Counter, Histogram

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from outside: ids from proxies and clients are UUIDs or similar tokens.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# The id outside a request: set by jobs.execute for the run it executes.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

log = logging.getLogger("webapp.requests")

REQUESTS = Counter(
    "playground_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "playground_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def current_request_id() -> str | None:
    """The id of the request (or job) this code runs for, if any."""
    if has_request_context():
        rid = g.get("request_id")
        if rid is not None:
            return rid
    return request_id_var.get()


def _incoming_request_id() -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "").strip()
    return given if _SANE_ID.match(given) else uuid.uuid4().hex


# -- logs ------------------------------------------------------------------------------------

_base_factory = logging.getLogRecordFactory()


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = current_request_id()
    return record


if getattr(_base_factory, "__name__", "") != "_record_factory":  # once, even if reloaded
    logging.setLogRecordFactory(_record_factory)

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def _formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(config) -> logging.Handler:
    """Put our one handler on the root logger (replacing the one an earlier app put there)."""
    kind = str(config.get("LOG_FORMAT") or "text").lower()
    if kind not in ("text", "json"):
        from webapp.config import ConfigError

        raise ConfigError(f"LOG_FORMAT must be 'text' or 'json', got {kind!r}.")
    level = str(config.get("LOG_LEVEL") or "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        from webapp.config import ConfigError

        raise ConfigError(f"LOG_LEVEL must be a logging level such as INFO, got {level!r}.")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "playground", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.playground = True  # type: ignore[attr-defined]
    handler.setFormatter(_formatter(kind))
    root.addHandler(handler)
    root.setLevel(level)
    return handler


# -- per request -----------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Request ids, the request log line and the request metrics."""

    @app.before_request
    def _start() -> None:
        g.request_id = _incoming_request_id()
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        rid = g.get("request_id")
        if rid is not None:
            response.headers[REQUEST_ID_HEADER] = rid
        started = g.pop("request_started", None)
        if started is None:  # the request failed before before_request ran
            return response
        elapsed = time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        LATENCY.labels(endpoint, request.method).observe(elapsed)
        log.info(
            "%s %s %s %.1f ms",
            request.method,
            request.path,
            response.status_code,
            elapsed * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response


# -- /metrics --------------------------------------------------------------------------------

RUN_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


def _run_seconds(dialect: str):
    from sqlalchemy import func

    from webapp.models import Run

    if dialect == "sqlite":
        return (func.julianday(Run.finished_at) - func.julianday(Run.started_at)) * 86400.0
    return func.extract("epoch", Run.finished_at - Run.started_at)


def _job_families(app: Flask) -> list:
    """Runs by status, run durations, queue length and workers, from the database and the
    queue (each part left out when its source does not answer, with an ``_up`` gauge of 0)."""
    from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
    from sqlalchemy import case, func, select

    from webapp.db import get_session
    from webapp.models import Run
    from webapp.models.ml import FINISHED_STATUSES, RUN_STATUSES

    families = []
    database_up = GaugeMetricFamily(
        "playground_database_up", "1 when the database answered this scrape."
    )
    session = get_session()
    try:
        counts = dict(session.execute(select(Run.status, func.count()).group_by(Run.status)).all())
        seconds = _run_seconds(session.get_bind().dialect.name)
        columns = [func.count(), func.coalesce(func.sum(seconds), 0.0)] + [
            func.sum(case((seconds <= bound, 1), else_=0)) for bound in RUN_DURATION_BUCKETS
        ]
        finished = session.execute(
            select(Run.status, *columns)
            .where(Run.status.in_(FINISHED_STATUSES), Run.started_at.is_not(None))
            .where(Run.finished_at.is_not(None))
            .group_by(Run.status)
        ).all()
        session.rollback()
    except Exception:
        session.rollback()
        logging.getLogger(__name__).warning("Metrics: the database did not answer", exc_info=True)
        database_up.add_metric([], 0)
        return [database_up]
    database_up.add_metric([], 1)
    families.append(database_up)

    runs = GaugeMetricFamily("playground_runs", "Training runs by status.", labels=["status"])
    for status in RUN_STATUSES:
        runs.add_metric([status], counts.get(status, 0))
    families.append(runs)

    durations = HistogramMetricFamily(
        "playground_run_duration_seconds",
        "Time from start to finish of finished training runs, by final status.",
        labels=["status"],
    )
    for status, total, sum_seconds, *below in finished:
        buckets = [
            (f"{bound:g}", int(n or 0))
            for bound, n in zip(RUN_DURATION_BUCKETS, below, strict=True)
        ]
        buckets.append(("+Inf", int(total)))
        durations.add_metric([status], buckets, float(sum_seconds or 0.0))
    families.append(durations)

    from webapp import jobs

    backend = jobs.get_backend(app)
    queue = GaugeMetricFamily(
        "playground_job_queue_length",
        "Jobs waiting for a worker (RQ: the Redis queue; in-process: queued runs).",
        labels=["backend"],
    )
    workers = GaugeMetricFamily(
        "playground_job_workers", "Workers that can run jobs.", labels=["backend"]
    )
    if backend.name == "rq":
        try:
            queue.add_metric(["rq"], backend.queue.count)
        except Exception:
            logging.getLogger(__name__).warning("Metrics: Redis did not answer", exc_info=True)
        count = backend.worker_count()
        if count is not None:
            workers.add_metric(["rq"], count)
    else:
        queue.add_metric([backend.name], counts.get("queued", 0))
        workers.add_metric([backend.name], backend.worker_count())
    families += [queue, workers]
    return families


class _Families:
    def __init__(self, families: list):
        self.families = families

    def collect(self):
        return iter(self.families)


def render_metrics(app: Flask) -> bytes:
    """The Prometheus text exposition: this server's request metrics (every gunicorn worker's,
    in multiprocess mode) and the cluster's job figures."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    directory = app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes, path=directory)
    else:
        processes = REGISTRY
    jobs_registry = CollectorRegistry(auto_describe=False)
    jobs_registry.register(_Families(_job_families(app)))
    return generate_latest(processes) + generate_latest(jobs_registry)
