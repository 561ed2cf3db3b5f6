"""Web benchmark: the production set-up against a bare Flask ceiling, side by side.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/playground_bench \\
        .venv/bin/python -m bench.web [--quick] [--rounds 3] [--duration 10] [--only list]
    .venv/bin/python -m bench.web --sizes 10,1000,10000     # write cost against column size

It migrates the database in ``DATABASE_URL`` (use a database of its own: it adds users and
tasks, and removes none), starts the app as production runs it (gunicorn with this
checkout's ``gunicorn.conf.py``: 2 gthread workers of 4 threads, keep-alive off;
``APP_ENV=production``) and a bare Flask app answering a 20-item JSON list with the same
gunicorn settings (the ceiling of this stack), then drives both with wrk (``-t2 -c32``; a
small Python load generator when wrk is missing) in interleaved rounds: each round measures
the ceiling, then every workload, so a machine busy with other work slows both alike.

The task list and task create are also sent to the stack floor (``bench.floor``: bare Flask,
PyJWT and SQLAlchemy Core giving the same answers on the same database, with none of the
app's layers), served with the same settings and measured right after the app in each
round with the same request (account, token, board): the ceiling's req/s is what Flask
and gunicorn leave room for, the floor's what the database work through this stack does,
and the app's what our layers leave of that.

It prints, per workload, the medians over rounds of req/s, p50/p99 latency and server CPU
per request (user + system time of gunicorn's processes over the run, divided by the
requests served), and the ratio of req/s to the ceiling's in the same round (the floor's
rows read "<workload>, stack floor"). Non-2xx answers, the floor's included, are counted
and make the run fail.

``--app-root`` serves another checkout of the project (e.g. an export of an older commit,
to measure "before"); data are made through the HTTP API only, so any version works.
``--against`` serves a second checkout beside this one (on the database in
``--against-database-url``) and measures both in the same rounds, taking turns as to which
goes first, and prints their ratio per workload: on a machine whose speed drifts (a shared
VM moved one app's req/s 15% between sittings), only such a side-by-side run tells a 10%
change.

To add a workload, append a ``Workload`` to ``WORKLOADS``: a name, what it needs from the
seeded data (``setup``), and the request it sends (wrk Lua is generated from it); ``floor``
if ``bench.floor`` answers that request too.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the ceiling -----------------------------------------------------------------------------


def ceiling_app():
    """The ceiling: Flask answering a 20-item JSON list, with no database and no auth."""
    from flask import Flask, jsonify

    app = Flask("ceiling")
    items = [
        {"id": i, "title": f"Task {i}", "status": "pending", "priority": "medium", "position": i}
        for i in range(20)
    ]

    @app.get("/items")
    def items_view():
        return jsonify({"items": items, "total": 20, "limit": 20, "offset": 0})

    return app


# -- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn process group with production's settings (``gunicorn.conf.py``).

    The settings are always this checkout's, also for ``--app-root`` and the ceiling: a
    "before" run then differs from "after" by the app alone, not by the server model.
    """

    def __init__(self, app: str, root: Path, env: dict, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
            "--config", str(ROOT / "gunicorn.conf.py"), "--workers", str(workers),
            "--chdir", str(root), "--log-level", "warning", app,
        ]  # fmt: skip
        env = {**env, "PYTHONPATH": str(root)}
        # cwd too: ``python -m`` puts the working directory first on sys.path.
        self.process = subprocess.Popen(command, env=env, cwd=root, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2):
                    pass
                return
            except urllib.error.HTTPError:
                return  # it answers (the ceiling has no /health)
            except OSError:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    raise SystemExit(f"gunicorn for {app} exited with {code}") from None
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn for {app} did not start in 60 s")

    def pids(self) -> list[int]:
        found = [self.process.pid]
        for path in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = path.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # ppid: a worker
                found.append(int(path.parent.name))
        return found

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / CLOCK_TICKS

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def app_env(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN", "FLASK_"))}
    env.update(
        DATABASE_URL=database_url,
        APP_ENV="production",
        SECURE_COOKIES="off",  # production settings, but plain HTTP to 127.0.0.1
        SECRET_KEY=secrets.token_urlsafe(48),
        MPLBACKEND="Agg",
        INSTANCE_PATH=tempfile.mkdtemp(prefix="bench-web-"),
    )
    env.pop("REDIS_URL", None)
    # An account per workload, all from 127.0.0.1: more sign-ups than one address may make.
    env["SIGNUP_RATE_LIMIT"] = "1000 per hour"
    return env


def migrate(root: Path, env: dict) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(root / "alembic.ini"), "upgrade", "head"],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        check=True,
        stdout=subprocess.DEVNULL,
    )


# -- seeding through the API -----------------------------------------------------------------


USER_AGENT = "playground-bench"  # every request of a workload's account, set-up and load alike


class Client:
    """A tiny HTTP client (standard library only) with a cookie jar and a bearer token."""

    def __init__(self, base: str):
        self.base = base
        self.token = None
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, path: str, body=None, form=None):
        headers = {"User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        with self.opener.open(request, timeout=60) as response:
            text = response.read().decode()
        return json.loads(text) if text and text[0] in "[{" else text

    def sign_up(self, name: str) -> None:
        password = "bench-password-123"
        user = {"email": f"{name}@example.com", "username": name, "password": password}
        self.call("POST", "/api/v1/auth/register", user)
        tokens = self.call("POST", "/api/v1/auth/login", {"username": name, "password": password})
        self.token = tokens["access_token"]
        page = self.call("GET", "/auth/login")
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        login = {"csrf_token": csrf, "login": name, "password": password}
        self.call("POST", "/auth/login", form=login)

    def upload(self, path: Path) -> dict:
        """POST a CSV file to ``/api/v1/datasets`` as multipart/form-data."""
        boundary = secrets.token_hex(16)
        data = b"".join([
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'.encode(),
            b"Content-Type: text/csv\r\n\r\n", path.read_bytes(),
            f"\r\n--{boundary}--\r\n".encode(),
        ])  # fmt: skip
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {self.token}",
        }
        request = urllib.request.Request(self.base + "/api/v1/datasets", data, headers)
        with self.opener.open(request, timeout=60) as response:
            return json.loads(response.read())

    def trained_model(self, dataset_id: int, algorithm: str, target: str, params: dict) -> int:
        """Train through the API and wait for the run; the model's id."""
        body = {"dataset_id": dataset_id, "algorithm": algorithm, "target": target}
        run = self.call("POST", "/api/v1/runs", {**body, "params": params})
        deadline = time.monotonic() + 300
        while run["status"] not in ("succeeded", "failed", "cancelled"):
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run['id']} did not finish in 300 s")
            time.sleep(0.2)
            run = self.call("GET", f"/api/v1/runs/{run['id']}")
        if run["status"] != "succeeded":
            raise SystemExit(f"run {run['id']} {run['status']}: {run.get('error')}")
        return run["model_id"]

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def board_with_tasks(self, name: str, count: int) -> tuple[int, list[int]]:
        board = self.call("POST", "/api/v1/boards", {"name": name})
        ids = []
        for i in range(count):
            task = {"title": f"Task {i}", "board_id": board["id"], "labels": ["bench", f"l{i % 3}"]}
            ids.append(self.call("POST", "/api/v1/tasks", task)["id"])
        return board["id"], ids


# -- workloads -------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    paths: list[str]  # rotated through, one per request
    body: list[str] = field(default_factory=list)  # rotated too; empty: no body
    headers: dict = field(default_factory=dict)


@dataclass
class Workload:
    """``setup(client)`` seeds what the workload needs and returns its ``Request``;
    ``floor``: the stack floor (``bench.floor``) answers the same request."""

    name: str
    setup: Callable[[Client], Request]
    floor: bool = False

    @property
    def floor_name(self) -> str:
        return self.name.split(" (")[0] + ", stack floor"


def _api(client: Client) -> dict:
    return {"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"}


def _task_list(client: Client) -> Request:
    client.board_with_tasks("List", 20)
    return Request("GET", ["/api/v1/tasks?limit=20"], headers=_api(client))


def _task_create(client: Client) -> Request:
    board_id, _ = client.board_with_tasks("Create", 0)
    body = json.dumps({"title": "A new task", "board_id": board_id, "labels": ["bench"]})
    return Request("POST", ["/api/v1/tasks"], [body], _api(client))


def _task_move(client: Client) -> Request:
    # 200 tasks moved in turn (top, then bottom), so concurrent moves rarely meet one task.
    _, ids = client.board_with_tasks("Move", 200)
    return Request(
        "POST",
        [f"/api/v1/tasks/{task_id}/move" for task_id in ids],
        [json.dumps({"position": 0}), json.dumps({})],
        _api(client),
    )


def _board_page(client: Client) -> Request:
    board_id, _ = client.board_with_tasks("Page", 20)
    # As a browser would: the cookie the page itself answered with (the log-in's flash
    # message shown, the form token made), sent by the browser that logged in. A cookie
    # from before, or another User-Agent (flask-login then marks the session not fresh),
    # makes every answer write a new session cookie, which a browser would not cause.
    client.call("GET", f"/boards/{board_id}")
    page = Request(
        "GET",
        [f"/boards/{board_id}"],
        headers={"Cookie": client.cookie(), "User-Agent": USER_AGENT},
    )
    _writes_no_cookie(client.base, page)
    return page


def _writes_no_cookie(base: str, request: Request) -> None:
    """Refuse to measure a replayed request the app answers with a new session cookie: the
    load tool sends the same cookie every time, so every answer would pay for a write that
    a browser, which keeps the new cookie, causes once."""
    probe = urllib.request.Request(base + request.paths[0], headers=request.headers)
    with urllib.request.urlopen(probe, timeout=60) as response:
        if response.headers.get("Set-Cookie"):
            raise SystemExit(f"{request.paths[0]} answers its replayed cookie with a new one")


def _predict_one_row(client: Client) -> Request:
    # The model of bench/predict.py: a 100-tree forest on the sample customers.
    dataset = client.upload(ROOT / "data" / "sample_classification.csv")
    model_id = client.trained_model(dataset["id"], "random_forest", "plan", {"n_estimators": 100})
    row = {"customer_id": "C9999", "age": 40, "monthly_spend": 50.0, "visits_per_month": 5,
           "region": "east", "device": "mobile", "has_children": "no",
           "signup_date": "2023-01-01"}  # fmt: skip
    body = json.dumps({"rows": [row]})
    return Request("POST", [f"/api/v1/models/{model_id}/predict"], [body], _api(client))


WORKLOADS = [
    Workload("task list (GET /api/v1/tasks, 20 rows)", _task_list, floor=True),
    Workload("task create (POST /api/v1/tasks)", _task_create, floor=True),
    Workload("task move (POST /api/v1/tasks/<id>/move)", _task_move),
    Workload("board page (GET /boards/<id>, 20 tasks)", _board_page),
    Workload("predict one row (POST /api/v1/models/<id>/predict)", _predict_one_row),
]


# -- load generation -------------------------------------------------------------------------


@dataclass
class Result:
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float = 0.0


def _lua(request: Request) -> str:
    def table(values):
        return "{" + ", ".join(json.dumps(v) for v in values) + "}"

    headers = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in request.headers.items()
    )
    return f"""
wrk.method = "{request.method}"
{headers}
local paths = {table(request.paths)}
local bodies = {table(request.body)}
local n = 0
request = function()
  n = n + 1
  local body = nil
  if #bodies > 0 then body = bodies[(math.floor((n - 1) / #paths) % #bodies) + 1] end
  return wrk.format(nil, paths[((n - 1) % #paths) + 1], nil, body)
end
"""


def _unit_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise SystemExit(f"cannot read the latency {value!r} in wrk's output")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(base: str, request: Request, seconds: float, connections: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(request))
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
             "--timeout", "30s", "-s", script.name, base + request.paths[0]],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    if "Latency Distribution" not in out:
        raise SystemExit(f"wrk's output has no latency distribution:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Result(
        requests=requests,
        errors=errors,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_unit_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        p99_ms=_unit_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
    )


def run_python(base: str, request: Request, seconds: float, connections: int) -> Result:
    """The fallback when wrk is missing: threads with keep-alive connections (slower than
    wrk, so its ratios are conservative)."""
    import http.client

    latencies, errors, counter, lock = [], [0], [0], threading.Lock()
    stop = time.monotonic() + seconds
    host = urllib.parse.urlsplit(base)

    def worker():
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        mine = []
        while time.monotonic() < stop:
            with lock:
                n = counter[0]
                counter[0] += 1
            path = request.paths[n % len(request.paths)]
            body = (
                request.body[(n // len(request.paths)) % len(request.body)]
                if request.body
                else None
            )
            start = time.perf_counter()
            conn.request(request.method, path, body=body, headers=request.headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status >= 400:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return Result(
        requests=len(latencies),
        errors=errors[0],
        rps=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )


def measure(server: Server, request: Request, seconds: float, connections: int) -> Result:
    load = run_wrk if shutil.which("wrk") else run_python
    before = server.cpu_seconds()
    result = load(server.url, request, seconds, connections)
    result.cpu_ms = (server.cpu_seconds() - before) * 1000 / max(result.requests, 1)
    return result


# -- write cost against column size ----------------------------------------------------------


def sizes_curve(base: str, sizes: list[int], repeats: int) -> None:
    """Time creating, moving and completing a task, one request at a time, on a column
    that already holds N tasks (the tasks are made in bulk through the API's client...
    one request each, so keep N moderate, or seed once and reuse the database)."""
    print(f"\nWrite cost against column size (median of {repeats}, one request at a time)\n")
    print("| tasks in column | create | move to top | complete |")
    print("|---|---|---|---|")
    for size in sizes:
        client = Client(base)
        client.sign_up(f"size_{size}_{secrets.token_hex(3)}")
        board_id, ids = client.board_with_tasks(f"Size {size}", 0)
        _bulk(client, board_id, size)
        ids = [t["id"] for t in _all(client, board_id)]
        timings = {"create": [], "move": [], "complete": []}
        for i in range(repeats):
            start = time.perf_counter()
            new = client.call("POST", "/api/v1/tasks", {"title": f"new {i}", "board_id": board_id})
            timings["create"].append(time.perf_counter() - start)
            start = time.perf_counter()
            # The column's last task goes to the top: with more repeats than tasks the
            # column turns round, and the last one is again the first seeded one.
            last = ids[-1 - i % len(ids)]
            client.call("POST", f"/api/v1/tasks/{last}/move", {"position": 0})
            timings["move"].append(time.perf_counter() - start)
            start = time.perf_counter()
            client.call("POST", f"/api/v1/tasks/{new['id']}/move", {"status": "completed"})
            timings["complete"].append(time.perf_counter() - start)
        cells = [f"{statistics.median(timings[k]) * 1000:.1f} ms" for k in timings]
        print(f"| {size:,} | " + " | ".join(cells) + " |")


def _bulk(client: Client, board_id: int, size: int) -> None:
    threads, chunk = [], max(1, size // 4)

    def make(start, stop):
        for i in range(start, stop):
            client.call("POST", "/api/v1/tasks", {"title": f"Task {i}", "board_id": board_id})

    for start in range(0, size, chunk):
        threads.append(threading.Thread(target=make, args=(start, min(size, start + chunk))))
        threads[-1].start()
    for thread in threads:
        thread.join()


def _all(client: Client, board_id: int) -> list[dict]:
    items, offset = [], 0
    while True:
        page = client.call("GET", f"/api/v1/tasks?board_id={board_id}&limit=200&offset={offset}")
        items += page["items"]
        offset += 200
        if offset >= page["total"]:
            return items


# -- main ------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s (a smoke run)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", help="run the workloads whose name contains this")
    parser.add_argument("--app-root", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--sizes", help="comma-separated column sizes: measure the write curve")
    parser.add_argument("--repeats", type=int, default=20, help="requests per size (--sizes)")
    parser.add_argument("--against", type=Path, help="another checkout, measured side by side")
    parser.add_argument("--against-database-url", help="--against's database (one of its own)")
    args = parser.parse_args(argv)
    if args.against and not args.against_database_url:
        parser.error("--against needs --against-database-url (a database of its own)")
    if args.quick:
        args.rounds, args.duration, args.connections = 1, 2.0, 8

    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        raise SystemExit("Set DATABASE_URL to a database of its own (PostgreSQL, as production).")
    env = app_env(database_url)
    migrate(args.app_root.resolve(), env)
    _warn_without_autovacuum(database_url)
    app = Server("webapp:create_app()", args.app_root.resolve(), env)
    try:
        if args.sizes:
            sizes_curve(app.url, [int(s) for s in args.sizes.split(",")], args.repeats)
            return 0
        ceiling = Server("bench.web:ceiling_app()", ROOT, env)
        other = floor = None
        try:
            if args.against:
                other_env = app_env(args.against_database_url)
                migrate(args.against.resolve(), other_env)
                other = Server("webapp:create_app()", args.against.resolve(), other_env)
            if any(w.floor for w in _selected(args)):
                # The app's database and secrets: the app's tokens and boards are the floor's.
                floor = Server("bench.floor:floor_app()", ROOT, env)
            return _table(args, app, ceiling, other, floor)
        finally:
            for server in (ceiling, other, floor):
                if server is not None:
                    server.stop()
    finally:
        app.stop()


def _seeded(server: Server, workloads: list[Workload]) -> dict:
    """Each workload's request, each on an account of its own: the list shows 20 tasks
    whatever the creates of earlier rounds added (thousands, on another account)."""
    requests = {}
    for workload in workloads:
        client = Client(server.url)
        client.sign_up(f"bench_{secrets.token_hex(4)}")
        requests[workload.name] = workload.setup(client)
    return requests


def _warn_without_autovacuum(database_url: str) -> None:
    """Say so when the server runs without autovacuum (some test set-ups turn it off): then
    no page of a busy table is marked all-visible, and the index-only counts that give a
    task its position read every row's heap page too (a column of 1,220 tasks: 0.62 ms a
    count instead of 0.32 ms after a VACUUM), which production, with autovacuum on, does not
    pay."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as connection:
        setting = connection.execute(text("SHOW autovacuum")).scalar_one()
    engine.dispose()
    if setting != "on":
        print(
            "note: PostgreSQL runs with autovacuum off; writes that answer a position "
            "count slower as their column grows than they would in production",
            file=sys.stderr,
        )


def _selected(args) -> list[Workload]:
    return [w for w in WORKLOADS if not args.only or args.only in w.name]


def _table(
    args, app: Server, ceiling: Server, other: Server | None = None, floor: Server | None = None
) -> int:
    workloads = _selected(args)
    requests = _seeded(app, workloads)
    other_requests = _seeded(other, workloads) if other else {}
    side_by_side = {name: [] for name in other_requests}
    ceiling_request = Request("GET", ["/items"])
    # The floor's rows come right after their workload's: {workload: its floor row's name}.
    floors = {w.name: w.floor_name for w in workloads if w.floor and floor is not None}
    rows = [name for w in workloads for name in (w.name, floors.get(w.name)) if name]
    results = {name: [] for name in ["ceiling", *rows]}
    ratios = {name: [] for name in rows}
    tool = "wrk" if shutil.which("wrk") else "python load generator (wrk missing)"
    load = os.getloadavg()[0]
    print(
        f"bench.web: {tool}, {args.connections} connections, {args.duration:g} s x "
        f"{args.rounds} rounds; load average {load:.1f} on {os.cpu_count()} cores at start"
    )
    for round_no in range(args.rounds):
        base = measure(ceiling, ceiling_request, args.duration, args.connections)
        results["ceiling"].append(base)
        for name, request in requests.items():
            if other is not None and round_no % 2:  # the other checkout goes first
                theirs = measure(other, other_requests[name], args.duration, args.connections)
            result = measure(app, request, args.duration, args.connections)
            results[name].append(result)
            ratios[name].append(result.rps / base.rps)
            if name in floors:  # the same request (account, token, board) to the floor
                bottom = measure(floor, request, args.duration, args.connections)
                results[floors[name]].append(bottom)
                ratios[floors[name]].append(bottom.rps / base.rps)
            if other is not None:
                if not round_no % 2:
                    theirs = measure(other, other_requests[name], args.duration, args.connections)
                side_by_side[name].append((result, theirs))
    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| workload | req/s | p50 | p99 | server CPU / request | share of ceiling | errors |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for name, runs in results.items():
        label = "bare Flask, 20-item list (ceiling)" if name == "ceiling" else name
        share = "100%" if name == "ceiling" else f"{statistics.median(ratios[name]):.0%}"
        errors = sum(r.errors for r in runs)
        failed = failed or errors > 0
        print(
            f"| {label} | {statistics.median(r.rps for r in runs):,.0f} "
            f"| {statistics.median(r.p50_ms for r in runs):.1f} ms "
            f"| {statistics.median(r.p99_ms for r in runs):.1f} ms "
            f"| {statistics.median(r.cpu_ms for r in runs):.2f} ms | {share} | {errors} |"
        )
    if other is not None:
        failed = _side_by_side(args, side_by_side) or failed
    return 1 if failed else 0


def _side_by_side(args, pairs: dict) -> bool:
    """Print this checkout against ``--against``, round by round paired; True on errors."""
    print(f"\nThis checkout against {args.against} (medians of per-round ratios)\n")
    print("| workload | req/s | against | ratio | CPU / request | against | ratio | errors |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for name, runs in pairs.items():
        ours = [a for a, _ in runs]
        theirs = [b for _, b in runs]
        errors = sum(b.errors for b in theirs)
        failed = failed or errors > 0
        rps_ratio = statistics.median(a.rps / b.rps for a, b in runs)
        cpu_ratio = statistics.median(a.cpu_ms / b.cpu_ms for a, b in runs)
        print(
            f"| {name} | {statistics.median(r.rps for r in ours):,.0f} "
            f"| {statistics.median(r.rps for r in theirs):,.0f} | {rps_ratio:.2f}x "
            f"| {statistics.median(r.cpu_ms for r in ours):.2f} ms "
            f"| {statistics.median(r.cpu_ms for r in theirs):.2f} ms | {cpu_ratio:.2f}x "
            f"| {errors} |"
        )
    return failed


if __name__ == "__main__":
    sys.exit(main())
