"""gunicorn's worker model, measured: sync workers against gthread, and ``gc.freeze()``.

Starts the production set-up (``gunicorn -c gunicorn.conf.py``, PostgreSQL from
``DATABASE_URL``, which is wiped: its name must contain ``bench`` or ``test``) in each
configuration in turn, and drives ``GET /api/v1/tasks?limit=20`` with wrk (keep-alive, as a
load balancer or browser would) in interleaved rounds; prints req/s and p50/p99 per round
the workers' CPU time per request and the busiest worker's share of it (50% is an even
split: gthread's keep-alive connections stay with the worker that accepted them), and the
medians with their ratio to sync workers. Then times a full garbage collection in a
process that built the app, with and without ``gc.freeze()``.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/playground_bench \\
        .venv/bin/python -m bench.worker_model --rounds 3 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

CONFIGS = {
    "sync (2 workers)": {"WEB_WORKER_CLASS": "sync", "WEB_THREADS": "1"},
    "gthread (2 workers x 4 threads)": {"WEB_WORKER_CLASS": "gthread", "WEB_THREADS": "4"},
    "gthread, no keep-alive": {
        "WEB_WORKER_CLASS": "gthread",
        "WEB_THREADS": "4",
        "WEB_KEEPALIVE": "0",
    },  # fmt: skip
    "sync (4 workers)": {"WEB_WORKER_CLASS": "sync", "WEB_THREADS": "1", "WEB_WORKERS": "4"},
    "sync, no gc.freeze()": {"WEB_WORKER_CLASS": "sync", "WEB_THREADS": "1", "WEB_GC_FREEZE": "0"},
}
PASSWORD = "bench-password-123"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    from tests.conftest import alembic_config

    if not any(word in (make_url(url).database or "") for word in ("bench", "test")):
        sys.exit("Refusing to wipe a database whose name has neither 'bench' nor 'test' in it.")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def start(url: str, extra: dict, metrics_dir: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "APP_ENV": "production",
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
        "RUN_SWEEP_SECONDS": "0",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        **extra,
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health", timeout=1).ok:
                return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not start")


def seed(base: str) -> str:
    http = requests.Session()
    http.post(f"{base}/api/v1/auth/register", json={
        "email": "bench@example.com", "username": "bench", "password": PASSWORD,
    })  # fmt: skip
    token = http.post(
        f"{base}/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    if http.get(f"{base}/api/v1/tasks?limit=1").json()["total"] < 20:
        for i in range(20):
            http.post(f"{base}/api/v1/tasks", json={"title": f"Task {i}", "labels": ["bench"]})
    return token


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def worker_cpu(master: int) -> dict[int, float]:
    """CPU seconds used so far by each worker process of the gunicorn ``master``."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu[int(pid)] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return cpu


def drive(base: str, token: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-H", f"Authorization: Bearer {token}", f"{base}/api/v1/tasks?limit=20"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": _ms(*p50.groups()),
        "p99": _ms(*p99.groups()),
        "errors": int(errors.group(1)) if errors else 0,
        "requests": requests_done,
    }


def gc_pause() -> dict:
    """A full collection's time in a process that built the app, before and after freezing."""
    code = (
        "import gc, time; from webapp import create_app; create_app({'RUN_SWEEP_SECONDS': 0});"
        "gc.collect(); n = len(gc.get_objects());"
        "t = time.perf_counter(); [gc.collect() for _ in range(5)];"
        "before = (time.perf_counter() - t) / 5; gc.freeze();"
        "t = time.perf_counter(); [gc.collect() for _ in range(5)];"
        "after = (time.perf_counter() - t) / 5;"
        "print(n, before * 1000, after * 1000)"
    )
    with tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "DATABASE_URL": "sqlite://", "INSTANCE_PATH": instance}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env).stdout.split()  # fmt: skip
    return {"objects": int(out[0]), "full_gc_ms": float(out[1]), "frozen_gc_ms": float(out[2])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--only", action="append", choices=list(CONFIGS), help="measure only these (repeatable)"
    )
    args = parser.parse_args()
    configs = {name: CONFIGS[name] for name in (args.only or CONFIGS)}
    if "sync (2 workers)" not in configs:
        sys.exit("The sync configuration is the reference: keep it.")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql") or shutil.which("wrk") is None:
        sys.exit("Needs DATABASE_URL (PostgreSQL) and wrk (apt-get install wrk).")
    prepare(url)
    results: dict[str, list[dict]] = {name: [] for name in configs}
    token = None
    for round_ in range(1, args.rounds + 1):
        for name, extra in configs.items():
            metrics_dir = tempfile.mkdtemp(prefix="bench-metrics-")
            process, base = start(url, extra, metrics_dir)
            try:
                token = seed(base) if token is None else token
                drive(base, token, 2, args.connections)  # warm up
                before = worker_cpu(process.pid)
                result = drive(base, token, args.seconds, args.connections)
                after = worker_cpu(process.pid)
                used = [after[pid] - before.get(pid, 0.0) for pid in after]
                result["cpu_ms"] = 1000 * sum(used) / max(1, result["requests"])
                result["busiest"] = max(used) / max(1e-9, sum(used))
            finally:
                os.killpg(process.pid, 15)
                process.wait(30)
                shutil.rmtree(metrics_dir, ignore_errors=True)
            results[name].append(result)
            print(f"round {round_}  {name:34} {result['rps']:8.0f} req/s  "
                  f"p50 {result['p50']:6.1f} ms  p99 {result['p99']:7.1f} ms  "
                  f"CPU {result['cpu_ms']:5.1f} ms/req  busiest worker "
                  f"{result['busiest']:.0%}  errors {result['errors']}", flush=True)  # fmt: skip
    base_rps = statistics.median(r["rps"] for r in results["sync (2 workers)"])
    base_p99 = statistics.median(r["p99"] for r in results["sync (2 workers)"])
    print("\n| configuration | req/s (median) | min req/s | p99 ms (median) | vs sync req/s "
          "| vs sync p99 | CPU ms/request | busiest worker's share (max) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        rps = statistics.median(r["rps"] for r in rows)
        p99 = statistics.median(r["p99"] for r in rows)
        cpu = statistics.median(r["cpu_ms"] for r in rows)
        busiest = max(r["busiest"] for r in rows)
        lowest = min(r["rps"] for r in rows)
        print(f"| {name} | {rps:.0f} | {lowest:.0f} | {p99:.1f} | {rps / base_rps:.2f}x | "
              f"{p99 / base_p99:.2f}x | {cpu:.1f} | {busiest:.0%} |")  # fmt: skip
    pause = gc_pause()
    print(
        f"\nFull garbage collection in a web process ({pause['objects']:,} tracked objects): "
        f"{pause['full_gc_ms']:.1f} ms; after gc.freeze(): {pause['frozen_gc_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
