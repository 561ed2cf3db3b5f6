"""Background jobs: an in-process thread pool by default, RQ when ``REDIS_URL`` is set.

Either way the run's row is the source of truth (status, progress, heartbeat): the job body
is :func:`execute`, which runs :func:`webapp.services.training.execute_run` while a
heartbeat thread stamps the row every few seconds. A worker that dies stops the heartbeat,
and :func:`webapp.services.runs.reap_stale_runs` then fails the run with a reason.

- In-process (``make run`` needs nothing else): ``JOB_WORKERS`` threads in the web
  process. When the pool starts it fails the runs that earlier, now dead, processes of this
  host had accepted ("the server restarted").
- RQ: :meth:`RQBackend.submit` enqueues :func:`run_rq_job` on ``RQ_QUEUE``; ``flask worker``
  (or ``rq worker``) processes execute it with the same code.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask, current_app, has_app_context

from webapp.db import get_engine, get_session, utcnow

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "playground"
HOST = socket.gethostname()


def setting(app: Flask, name: str, default):
    """A job setting: the app config (tests), else the environment, else ``default``."""
    value = app.config.get(name)
    if value is None:
        value = os.environ.get(name) or default
    return value


def heartbeat_interval(app: Flask) -> float:
    return float(setting(app, "RUN_HEARTBEAT_SECONDS", 5))


def heartbeat_timeout(app: Flask) -> float:
    """How long without a heartbeat before a running run counts as dead."""
    return float(setting(app, "RUN_HEARTBEAT_TIMEOUT", 60))


def queue_name(app: Flask) -> str:
    return str(setting(app, "RQ_QUEUE", DEFAULT_QUEUE))


def execute(app: Flask, run_id: int, worker: str) -> str | None:
    """The job body, in any worker: train run ``run_id`` with a heartbeat beside it."""
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(app, run_id, stop), name=f"heartbeat-{run_id}", daemon=True
    )
    with app.app_context():
        beat.start()
        try:
            from webapp.services import training

            return training.execute_run(session=get_session(), run_id=run_id, worker=worker)
        except Exception as exc:  # the job could not even start: never leave the run queued
            log.exception("The job of run %s crashed", run_id)
            from webapp.services.runs import _finish

            get_session().rollback()
            _finish(get_session(), run_id, "failed", error=f"The job could not run: {exc}")
            return "failed"
        finally:
            stop.set()
            beat.join(timeout=10)


def _heartbeat(app: Flask, run_id: int, stop: threading.Event) -> None:
    from sqlalchemy import update

    from webapp.models import Run

    interval = heartbeat_interval(app)
    with app.app_context():
        session = get_session()
        while not stop.wait(interval):
            try:
                session.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.status == "running")
                    .values(heartbeat_at=utcnow())
                )
                session.commit()
            except Exception:  # a missed beat is not fatal; the next one may work
                session.rollback()
                log.warning("Heartbeat of run %s failed", run_id, exc_info=True)


class InProcessBackend:
    """Runs jobs on a thread pool in this process."""

    name = "inprocess"

    def __init__(self, app: Flask, workers: int = 2):
        self.app = app
        self.worker = f"inprocess:{HOST}:{os.getpid()}"
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="run")
        self._futures: set[Future] = set()
        self._lock = threading.Lock()
        self._recovered = False

    def recover(self) -> None:
        """Once per pool: fail the runs left behind by dead processes of this host."""
        if self._recovered:
            return
        self._recovered = True
        from webapp.services.runs import fail_orphaned_runs

        with self.app.app_context():
            count = fail_orphaned_runs(session=get_session(), host=HOST, current_pid=os.getpid())
        if count:
            log.warning("Failed %d run(s) left behind by a previous server process", count)

    def submit(self, run) -> None:
        self.recover()
        run.worker = self.worker  # the caller commits; recovery after a restart needs it
        future = self._pool.submit(execute, self.app, run.id, self.worker)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)
        if future.exception() is not None:
            log.error("A run job crashed", exc_info=future.exception())

    def cancel(self, run) -> None:
        """Nothing to do: the job sees the run is no longer queued and skips it."""

    def wait_idle(self, timeout: float = 60) -> bool:
        """Wait until every submitted job has finished (tests, shutdown)."""
        with self._lock:
            pending = set(self._futures)
        done, not_done = wait(pending, timeout=timeout)
        return not not_done

    def status(self) -> dict:
        return {"backend": self.name, "workers": self._pool._max_workers}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class RQBackend:
    """Enqueues jobs on Redis for ``flask worker`` / ``rq worker`` processes."""

    name = "rq"

    def __init__(self, app: Flask, url: str, queue_name: str = DEFAULT_QUEUE):
        from redis import Redis
        from rq import Queue

        self.app = app
        self.connection = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
        self.queue = Queue(queue_name, connection=self.connection)

    def recover(self) -> None:
        """Dead RQ workers are found by the heartbeat reaper, not at start-up."""

    def submit(self, run) -> None:
        timeout = int(setting(self.app, "RUN_TIMEOUT_SECONDS", 3600))
        self.queue.enqueue(
            run_rq_job,
            run.id,
            job_id=f"run-{run.id}",
            job_timeout=timeout,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=f"Training run {run.id}",
        )

    def cancel(self, run) -> None:
        """Drop the queued job from Redis too (best effort: the run row is what counts)."""
        from rq.job import Job

        try:
            Job.fetch(f"run-{run.id}", connection=self.connection).cancel()
        except Exception:
            log.info("Could not cancel the RQ job of run %s", run.id, exc_info=True)

    def worker_count(self) -> int | None:
        from rq import Worker

        try:
            return Worker.count(queue=self.queue)
        except Exception:
            return None

    def status(self) -> dict:
        return {"backend": self.name, "queue": self.queue.name, "workers": self.worker_count()}


def get_backend(app: Flask | None = None):
    """The app's job backend, created on first use (RQ when ``REDIS_URL`` is set)."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get("jobs")
    if backend is None:
        with _create_lock:
            backend = app.extensions.get("jobs")
            if backend is None:
                backend = _create(app)
                app.extensions["jobs"] = backend
    return backend


_create_lock = threading.Lock()


def _create(app: Flask):
    url = app.config.get("REDIS_URL")
    if url and setting(app, "JOBS_BACKEND", "auto") != "inprocess":
        return RQBackend(app, url, queue_name(app))
    backend = InProcessBackend(app, int(setting(app, "JOB_WORKERS", 2)))
    atexit.register(backend.shutdown)
    return backend


# -- the RQ side -----------------------------------------------------------------------------

_worker_app: Flask | None = None


def _rq_app() -> Flask:
    """The app in an RQ worker: ``flask worker``'s (kept in a module global before forking),
    else one made from the environment (plain ``rq worker``)."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from webapp import create_app

        _worker_app = create_app()
    return _worker_app


def set_worker_app(app: Flask) -> None:
    global _worker_app
    _worker_app = app
    app.config["JOBS_PARENT_PID"] = os.getpid()


def run_rq_job(run_id: int) -> str | None:
    """What RQ executes. In a forked work-horse, drop the parent's pooled connections
    (sharing a socket across processes corrupts it) without closing them for the parent."""
    app = _rq_app()
    parent = app.config.get("JOBS_PARENT_PID")
    if parent is not None and parent != os.getpid():
        with app.app_context():
            get_engine().dispose(close=False)
        app.config["JOBS_PARENT_PID"] = os.getpid()
    return execute(app, run_id, f"rq:{HOST}:{os.getpid()}")
