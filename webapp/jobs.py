"""Background jobs: an in-process thread pool by default, RQ when ``REDIS_URL`` is set.

Either way the run's row is the source of truth (status, progress, heartbeat): the job body
is :func:`execute`, which runs :func:`webapp.services.training.execute_run` while a
heartbeat thread (the only writer of ``heartbeat_at``) stamps the row every few seconds.

Runs are kept honest by a **sweeper**, a daemon thread in every web server and worker process
(``RUN_SWEEP_SECONDS``; its first pass runs at start-up), never by the pages that show them
(a GET does not write). Each pass (:func:`sweep`):

- fails running runs whose heartbeat stopped (the worker died), with the reason;
- asks the backend to recover what a lost process left: the in-process pool re-submits runs
  that a dead process of this host had queued and fails the ones it was running ("the server
  restarted"); the RQ backend re-enqueues queued runs whose job vanished from Redis (a
  restart without persistence, or held back for fairness, see :class:`RQBackend`) and fails
  those whose job died before it could start.

Every change is a conditional UPDATE, so any number of sweepers may run side by side.

A job carries the id of the request that queued it (:mod:`webapp.observability`): its log
lines in the worker have the same ``request_id`` as the web server's.

- In-process (``make run`` needs nothing else): ``JOB_WORKERS`` threads in the web process.
- RQ: :meth:`RQBackend.submit` enqueues :func:`run_rq_job` on ``RQ_QUEUE``; ``flask worker``
  (or ``rq worker``) processes execute it with the same code.
"""

from __future__ import annotations

import atexit
import contextvars
import itertools
import logging
import os
import socket
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp.db import get_engine, get_session, utcnow
from webapp.models import Run
from webapp.observability import current_request_id, request_id_var
from webapp.services import runs as run_service

log = logging.getLogger(__name__)

HOST = socket.gethostname()
# A queued run younger than this may not be on the queue yet (its row is committed first).
LOST_JOB_GRACE = timedelta(seconds=30)
JOB_DIED_BEFORE_START = (
    "The job could not run: the worker failed before training started (the details are in "
    "its log). Retry the run."
)


def heartbeat_timeout(app: Flask) -> float:
    """How long without a heartbeat before a running run counts as dead."""
    return float(app.config["RUN_HEARTBEAT_TIMEOUT"])


def execute(app: Flask, run_id: int, worker: str, request_id: str | None = None) -> str | None:
    """The job body, in any worker: train run ``run_id`` with a heartbeat beside it, logging
    under the id of the request that queued it."""
    token = request_id_var.set(request_id)
    stop = threading.Event()
    beat = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_heartbeat, app, run_id, stop),
        name=f"heartbeat-{run_id}",
        daemon=True,
    )
    started = time.monotonic()
    outcome: str | None = "failed"
    log.info("Run %s: job started on %s", run_id, worker)
    with app.app_context():
        beat.start()
        try:
            from webapp.services import training

            outcome = training.execute_run(session=get_session(), run_id=run_id, worker=worker)
            return outcome
        except Exception:  # the job could not even start: never leave the run queued
            log.exception("The job of run %s crashed", run_id)
            get_session().rollback()
            run_service.finish_run(get_session(), run_id, "failed", error=JOB_DIED_BEFORE_START)
            return "failed"
        finally:
            stop.set()
            beat.join(timeout=10)
            log.info(
                "Run %s: job ended (%s) after %.1f s",
                run_id,
                outcome or "not queued any more",
                time.monotonic() - started,
            )
            request_id_var.reset(token)


def _heartbeat(app: Flask, run_id: int, stop: threading.Event) -> None:
    interval = float(app.config["RUN_HEARTBEAT_SECONDS"])
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


class FairQueue:
    """Queued runs of the in-process pool, one line per user.

    The next run is taken from the user with the fewest runs training right now, then from
    the user served longest ago (round robin; then whose run came first), and never from a
    user already at ``per_user`` running runs. One user's forty queued runs therefore take
    turns with another user's one run instead of standing in front of it (issue 11 measured
    14.6 s of waiting for a small run behind another user's queue, first come first served).
    """

    def __init__(self, per_user: int):
        self.per_user = max(1, per_user)
        self._lock = threading.Lock()
        self._queued: dict[int, deque[tuple[int, int]]] = {}
        self._running: Counter[int] = Counter()
        self._served: dict[int, int] = {}  # owner -> when (in pops) they last got a run
        self._order = itertools.count()

    def put(self, owner_id: int, run_id: int) -> None:
        with self._lock:
            self._queued.setdefault(owner_id, deque()).append((next(self._order), run_id))

    def pop(self) -> tuple[int, int] | None:
        """``(owner_id, run_id)`` of the fairest next run, or None if none may start now."""
        with self._lock:
            ready = [
                (self._running[owner], self._served.get(owner, -1), line[0][0], owner)
                for owner, line in self._queued.items()
                if self._running[owner] < self.per_user
            ]
            if not ready:
                return None
            owner = min(ready)[-1]
            self._served[owner] = next(self._order)
            _, run_id = self._queued[owner].popleft()
            if not self._queued[owner]:
                del self._queued[owner]
            self._running[owner] += 1
            return owner, run_id

    def done(self, owner_id: int) -> None:
        with self._lock:
            self._running[owner_id] -= 1
            if self._running[owner_id] <= 0 and owner_id not in self._queued:
                del self._running[owner_id]  # nothing left of theirs: forget them
                self._served.pop(owner_id, None)

    def waiting(self) -> int:
        with self._lock:
            return sum(len(line) for line in self._queued.values())


class InProcessBackend:
    """Runs jobs on a thread pool in this process, picking each next run fairly between
    users (:class:`FairQueue`): a pool task does not run a fixed run, it runs whichever
    queued run is fairest when a thread is free."""

    name = "inprocess"

    def __init__(self, app: Flask, workers: int = 2, per_user: int = 1):
        self.app = app
        self.workers = workers
        self.worker = f"inprocess:{HOST}:{os.getpid()}"
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="run")
        self._futures: set[Future] = set()
        self._lock = threading.Lock()
        self._fair = FairQueue(per_user)
        self._request_ids: dict[int, str | None] = {}

    def submit(self, run: Run) -> None:
        run.worker = self.worker  # the caller commits; recovery after a restart needs it
        self._start(run.id, run.owner_id)

    def _start(self, run_id: int, owner_id: int) -> None:
        with self._lock:  # the job logs under the id of the request that queued it
            self._request_ids[run_id] = current_request_id()
        self._fair.put(owner_id, run_id)
        self._spawn()

    def _spawn(self) -> None:
        future = self._pool.submit(self._run_next)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _run_next(self) -> str | None:
        picked = self._fair.pop()
        if picked is None:  # every waiting run's user is at its limit: a finishing run resumes
            return None
        owner_id, run_id = picked
        with self._lock:
            request_id = self._request_ids.pop(run_id, None)
        try:
            return execute(self.app, run_id, self.worker, request_id)
        finally:
            self._fair.done(owner_id)
            if self._fair.waiting():
                self._spawn()

    def _done(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)
        if future.exception() is not None:
            log.error("A run job crashed", exc_info=future.exception())

    def job_ended(self, owner_id: int) -> None:
        """Nothing to do: the pool starts the owner's next run itself (``_run_next``)."""

    def cancel(self, run: Run) -> None:
        """Nothing to do: the job sees the run is no longer queued and skips it."""

    def recover(self, session: Session) -> int:
        """Take over the runs of this host's dead processes: queued ones run here, running
        ones failed (their work is lost). Returns how many runs changed."""
        prefix = f"inprocess:{HOST}:"
        rows = session.execute(
            select(Run.id, Run.status, Run.worker, Run.owner_id).where(
                Run.status.in_(("queued", "running")), Run.worker.startswith(prefix)
            )
        ).all()
        changed = 0
        for run_id, status, worker, owner_id in rows:
            pid = worker[len(prefix) :]
            if not pid.isdigit() or int(pid) == os.getpid() or _pid_alive(int(pid)):
                continue
            if status == "running":
                changed += run_service.finish_run(
                    session, run_id, "failed", error=run_service.SERVER_RESTARTED,
                    only_from=("running",),
                )  # fmt: skip
            elif run_service.take_over(session, run_id, old=worker, new=self.worker):
                self._start(run_id, owner_id)
                changed += 1
        return changed

    def worker_count(self) -> int:
        return self.workers

    def wait_idle(self, timeout: float = 60) -> bool:
        """Wait until every submitted job has finished (tests, shutdown), including the
        pool tasks that finishing jobs start for the runs still waiting."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = set(self._futures)
            if not pending:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait(pending, timeout=remaining)

    def status(self) -> dict:
        return {"backend": self.name, "workers": self.workers}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RQBackend:
    """Enqueues jobs on Redis for ``flask worker`` / ``rq worker`` processes.

    Fair between users: a user has at most ``RUNS_PER_USER_AT_ONCE`` runs on the queue or
    training; their other queued runs wait in the database and are enqueued by
    :meth:`dispatch` when one of those ends (in the worker that ran it, on cancel, or by the
    sweeper). So forty runs of one user put one job on the queue, and another user's run
    waits behind that one job, not behind forty.
    """

    name = "rq"

    def __init__(self, app: Flask, url: str, queue_name: str, per_user: int = 1):
        from redis import Redis
        from rq import Queue

        self.app = app
        self.per_user = max(1, per_user)
        self.connection = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
        self.queue = Queue(queue_name, connection=self.connection)

    @staticmethod
    def job_id(run_id: int) -> str:
        return f"run-{run_id}"

    def submit(self, run: Run) -> None:
        self.dispatch(get_session(), run.owner_id)

    def _enqueue(self, run_id: int) -> None:
        self.queue.enqueue(
            run_rq_job,
            run_id,
            current_request_id(),
            job_id=self.job_id(run_id),
            job_timeout=int(self.app.config["RUN_TIMEOUT_SECONDS"]),
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=f"Training run {run_id}",
        )

    def dispatch(self, session: Session, owner_id: int, settled_before=None) -> int:
        """Enqueue the owner's oldest queued runs that have no job, up to the free slots.

        With ``settled_before`` (the sweeper), queued runs created after it are left alone
        (a job may be on its way) and those created before it whose job died before it could
        start are failed. Returns how many runs were enqueued or failed.
        """
        from rq.job import Job, JobStatus

        running = session.scalar(
            select(func.count(Run.id)).where(Run.owner_id == owner_id, Run.status == "running")
        )
        queued = session.execute(
            select(Run.id, Run.created_at)
            .where(Run.owner_id == owner_id, Run.status == "queued")
            .order_by(Run.id)
        ).all()
        # Every queued run's job in one round trip (None where Redis has no such job).
        jobs = Job.fetch_many([self.job_id(run_id) for run_id, _ in queued], self.connection)
        busy, waiting, changed = running, [], 0
        for (run_id, created_at), job in zip(queued, jobs, strict=True):
            state = None if job is None else job.get_status(refresh=False)
            # Only the sweeper fails runs, and only those older than its grace.
            settled = settled_before is not None and created_at < settled_before
            if state is None and (settled_before is None or settled):
                waiting.append(run_id)
            elif state in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                if settled:
                    changed += run_service.finish_run(
                        session,
                        run_id,
                        "failed",
                        error=JOB_DIED_BEFORE_START,
                        only_from=("queued",),
                    )
            else:  # on the queue, starting, or too fresh for the sweeper to judge
                busy += 1
        for run_id in waiting[: max(0, self.per_user - busy)]:
            log.info("Run %s enqueued (its owner had a free slot)", run_id)
            self._enqueue(run_id)
            changed += 1
        return changed

    def cancel(self, run: Run) -> None:
        """Drop the queued job from Redis too (best effort: the run row is what counts), and
        let the owner's next waiting run take its slot."""
        from rq.job import Job

        try:
            Job.fetch(self.job_id(run.id), connection=self.connection).cancel()
        except Exception:
            log.info("Could not cancel the RQ job of run %s", run.id, exc_info=True)
        self.job_ended(run.owner_id)

    def job_ended(self, owner_id: int) -> None:
        """A slot of ``owner_id`` is free: enqueue their next waiting run (best effort; the
        sweeper catches up when Redis or the database is down now)."""
        try:
            self.dispatch(get_session(), owner_id)
        except Exception:
            log.warning("Could not enqueue the next run of user %s", owner_id, exc_info=True)

    def recover(self, session: Session) -> int:
        """Queued runs whose job is gone from Redis (a restart without persistence, or a
        missed hand-over) are enqueued as their owner's slots allow; those whose job died
        before it could claim the run are failed. Returns how many runs changed."""
        cutoff = utcnow() - LOST_JOB_GRACE
        owners = session.scalars(
            select(Run.owner_id).where(Run.status == "queued", Run.created_at < cutoff).distinct()
        ).all()
        return sum(self.dispatch(session, owner, settled_before=cutoff) for owner in owners)

    def worker_count(self) -> int | None:
        """RQ workers listening on our queue (None when Redis cannot say)."""
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
    if url and app.config["JOBS_BACKEND"] != "inprocess":
        return RQBackend(app, url, app.config["RQ_QUEUE"], int(app.config["RUNS_PER_USER_AT_ONCE"]))
    backend = InProcessBackend(
        app, int(app.config["JOB_WORKERS"]), int(app.config["RUNS_PER_USER_AT_ONCE"])
    )
    atexit.register(backend.shutdown)
    return backend


# -- the sweeper -----------------------------------------------------------------------------


@dataclass
class SweepReport:
    dead: int = 0  # running runs failed for a silent heartbeat
    recovered: int = 0  # runs the backend re-submitted, re-enqueued or failed


def sweep(app: Flask) -> SweepReport:
    """One pass over the runs that need a hand (see the module docstring)."""
    with app.app_context():
        session = get_session()
        report = SweepReport()
        report.dead = run_service.reap_stale_runs(
            session=session, timeout_seconds=heartbeat_timeout(app)
        )
        report.recovered = get_backend(app).recover(session)
        if report.dead or report.recovered:
            log.warning(
                "Run sweep: %d run(s) with a dead worker failed, %d lost run(s) recovered",
                report.dead,
                report.recovered,
            )
        return report


def start_sweeper(app: Flask) -> threading.Thread | None:
    """Sweep now and then every ``RUN_SWEEP_SECONDS`` in a daemon thread (once per app)."""
    interval = float(app.config["RUN_SWEEP_SECONDS"])
    if interval <= 0 or app.extensions.get("jobs_sweeper") is not None:
        return None
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                sweep(app)
            except Exception:  # the database or Redis is down: try again next time
                log.warning("Run sweep failed; retrying in %g s", interval, exc_info=True)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=loop, name="run-sweeper", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    app.extensions["jobs_sweeper"] = thread
    thread.start()
    return thread


def stop_sweeper(app: Flask) -> None:
    thread = app.extensions.pop("jobs_sweeper", None)
    if thread is not None:
        thread.stop.set()
        thread.join(timeout=10)


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


def run_rq_job(run_id: int, request_id: str | None = None) -> str | None:
    """What RQ executes. In a forked work-horse, drop the parent's pooled connections
    (sharing a socket across processes corrupts it) without closing them for the parent."""
    app = _rq_app()
    parent = app.config.get("JOBS_PARENT_PID")
    if parent is not None and parent != os.getpid():
        with app.app_context():
            get_engine().dispose(close=False)
        app.config["JOBS_PARENT_PID"] = os.getpid()
    outcome = execute(app, run_id, f"rq:{HOST}:{os.getpid()}", request_id)
    with app.app_context():
        owner_id = get_session().scalar(select(Run.owner_id).where(Run.id == run_id))
        if owner_id is not None:
            get_backend(app).job_ended(owner_id)
    return outcome
