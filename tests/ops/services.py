"""Private PostgreSQL and Redis servers, gunicorn web servers and RQ workers for the fault
and scale-out tests, each on its own port in its own temporary directory.

The shared PostgreSQL (5432) and Redis (6379) other tests use are never touched: these
tests stop and restart servers, so they start their own from Debian's binaries. PostgreSQL
runs as the ``postgres`` user when we are root (``initdb`` refuses root). Every process is
started in its own session so it can be killed with everything it forked.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from webapp import ROOT

SECRET = "ops-test-secret-key-0123456789-abcdefghijklmnop"
# Temporary directories of servers and workers, removed at the end of the session.
TEMP_DIRS: list[str] = []


def temp_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=f"playground-ops-{prefix}-")
    TEMP_DIRS.append(path)
    return path


def remove_temp_dirs() -> None:
    while TEMP_DIRS:
        shutil.rmtree(TEMP_DIRS.pop(), ignore_errors=True)


def free_port() -> int:
    """A free port on 127.0.0.1 (Chromium refuses 5060/5061, so those are skipped)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in (5060, 5061):
            return port


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _kill_group(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def postgres_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """``initdb`` in a temporary directory, ``pg_ctl`` to start, stop and restart it."""

    def __init__(self):
        self.bin = postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="playground-ops-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip
        self.start()

    def _run(self, tool: str, *args: str, check=True) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """``immediate`` is a crash as far as the data is concerned: no checkpoint, the WAL is
        replayed at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def close(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """``redis-server`` on its own port, with or without persistence (append-only file)."""

    def __init__(self, persistent: bool):
        self.port = free_port()
        self.persistent = persistent
        self.dir = Path(tempfile.mkdtemp(prefix="playground-ops-redis-"))
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
            if self.persistent
            else ["--appendonly", "no", "--save", ""]
        )
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--protected-mode",
                "no",
                *persistence,
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.ping, 30, f"Redis on port {self.port}")

    def ping(self) -> bool:
        from redis import Redis

        try:
            return bool(Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except Exception:
            return False

    def stop(self) -> None:
        """SIGTERM: Redis shuts down cleanly (with persistence, the AOF is complete)."""
        if self.process is not None:
            _kill_group(self.process)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def app_env(database_url: str, redis_url: str | None = None, **extra) -> dict:
    """The environment of our servers and workers: production settings, quick sweeps."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(
        APP_ENV="production",
        SECRET_KEY=SECRET,
        DATABASE_URL=database_url,
        INSTANCE_PATH=temp_dir("instance"),
        LOG_FORMAT="json",
        MPLBACKEND="Agg",
        RUN_SWEEP_SECONDS="1",
        RUN_HEARTBEAT_SECONDS="0.5",
        RUN_HEARTBEAT_TIMEOUT="3",
        RQ_QUEUE=f"ops-{uuid.uuid4().hex[:8]}",
        # Production settings, but reached over plain HTTP on 127.0.0.1: Python's cookie jar
        # would keep Secure cookies (the session, so its CSRF token) to itself.
        SECURE_COOKIES="off",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Process:
    """A server or worker we started, with its output in a file (shown when a test fails)."""

    def __init__(self, name: str, command: list[str], env: dict):
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"playground-ops-{name}-", suffix=".log")[1])
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL to the process and everything it forked (an RQ work-horse starts a session
        of its own): a machine or container dying."""
        for pid in [self.pid, *descendants(self.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        _kill_group(self.process)
        self._log_file.close()
        self.log.unlink(missing_ok=True)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class Gunicorn(Process):
    """``gunicorn -c gunicorn.conf.py`` (the production configuration) on a free port."""

    def __init__(self, env: dict, workers: int = 2, name: str = "web"):
        self.port = free_port()
        env = {
            **env,
            "WEB_BIND": f"127.0.0.1:{self.port}",
            "WEB_WORKERS": str(workers),
            "PROMETHEUS_MULTIPROC_DIR": temp_dir("metrics"),
        }
        super().__init__(name, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], env)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(self._healthy, 90, f"gunicorn on port {self.port}", interval=0.2)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.tail()}")
        try:
            return requests.get(f"{self.url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


class RQWorker(Process):
    """``flask worker`` (the command the deployment runs)."""

    def __init__(self, env: dict, name: str = "worker"):
        super().__init__(name, [sys.executable, "-m", "flask", "--app", "webapp", "worker"], env)


def migrate(database_url: str) -> None:
    from alembic import command

    from tests.conftest import alembic_config

    command.upgrade(alembic_config(database_url), "head")
