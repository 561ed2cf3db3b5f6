"""gunicorn settings for Playground's web servers: ``gunicorn -c gunicorn.conf.py``.

The app comes from ``webapp:create_app()``; its own settings come from the environment (the
README's configuration table). These are the server's, also from the environment:

- ``PORT`` (8000) and ``WEB_BIND`` (``0.0.0.0:$PORT``): where to listen.
- ``WEB_WORKERS`` (2): processes. Each answers one request at a time, so size it to the cores
  (2-4 per core: requests wait on PostgreSQL part of the time) and scale out with replicas.
- ``WEB_WORKER_CLASS`` (``sync``) and ``WEB_THREADS`` (1): the worker model, measured on
  this 2-core machine (README, "Choosing the worker model"): sync workers gave more requests
  per second and a lower p99 than gthread, whose keep-alive connections can pile onto one
  worker while the other idles. Sync workers close the connection after each answer, so put
  a buffering proxy in front (the Kubernetes ingress, a load balancer): slow clients then
  cost the proxy, not a worker.
- ``WEB_TIMEOUT`` (60): seconds before a stuck worker is killed and replaced.

Each worker builds the app itself (no ``preload_app``): the app starts a sweeper thread and
opens database connections, and neither survives a fork. After the app is built, the
worker calls ``gc.freeze()``: the ~200k objects of the imported modules (numpy, pandas,
matplotlib, mlcore, SQLAlchemy) move to the permanent generation, so full collections stop
walking them (measured in the README).

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
worker_class = os.environ.get("WEB_WORKER_CLASS", "sync")
threads = int(os.environ.get("WEB_THREADS", "1"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5  # gthread only; sync workers close each connection
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
    gc.freeze()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
