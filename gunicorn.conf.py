"""gunicorn settings for Playground's web servers: ``gunicorn -c gunicorn.conf.py``.

The app comes from ``webapp:create_app()``; its own settings come from the environment (the
README's configuration table). These are the server's, also from the environment:

- ``PORT`` (8000) and ``WEB_BIND`` (``0.0.0.0:$PORT``): where to listen.
- ``WEB_WORKERS`` (2): processes, each with ``WEB_THREADS`` threads. Size it to the cores
  (1-2 per core: the threads overlap the waits on PostgreSQL) and scale out with replicas.
- ``WEB_WORKER_CLASS`` (``gthread``), ``WEB_THREADS`` (4), ``WEB_KEEPALIVE`` (0): the worker
  model, chosen from measurements (``bench/worker_model.py``; README, "Choosing the worker
  model"). With keep-alive on, a gthread worker keeps every connection it accepted, and one
  worker did 85-99% of the work while the other idled (the throughput halving seen in
  issue 12). With keep-alive off each request is accepted anew, the work splits 50/50, and
  four threads per worker overlap the waits on PostgreSQL: 1.37x the requests per second
  of sync workers with a p99 between 0.81x and 1.15x of theirs. A proxy in front (the
  ingress, a load balancer) keeps the clients' connections alive.
- ``WEB_TIMEOUT`` (60): seconds before a stuck worker is killed and replaced.
- ``WEB_GC_FREEZE`` (1): 0 skips ``gc.freeze()`` (for measuring it).

Each worker builds the app itself (no ``preload_app``): the app starts a sweeper thread and
opens database connections, and neither survives a fork. After the app is built, the
worker calls ``gc.freeze()``: the objects of the imported modules (Flask, SQLAlchemy, ...)
move to the permanent generation, so full collections stop walking them (measured in the
README). The ML stack is imported on first use (``webapp.lazy``), which freezes it as well.

Metrics: ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory when unset) lets the
workers write their counters to shared files that ``/metrics`` adds up; the files of a
previous run are removed at start and a dead worker's are marked so. The environment variable
must be set before ``prometheus_client`` is first imported, which is why it is set here, in
the master, before any worker imports the app.
"""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path

_port = os.environ.get("PORT", "8000")
bind = os.environ.get("WEB_BIND", f"0.0.0.0:{_port}")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = int(os.environ.get("WEB_KEEPALIVE", "0"))  # see above: 0 keeps workers balanced
wsgi_app = "webapp:create_app()"
# gunicorn's control socket (for gunicornc) is one path per user: two servers on one host
# would take it from each other, and nothing here uses it.
control_socket_disable = True

# The app logs one line per request with its request id (LOG_FORMAT=json for JSON);
# gunicorn's access log would repeat it without the id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="playground-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server) -> None:
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def post_worker_init(worker) -> None:
    # Everything the app imported and built so far lives as long as the worker.
    if os.environ.get("WEB_GC_FREEZE", "1") != "0":
        gc.freeze()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
