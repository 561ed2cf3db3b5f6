"""Load test: 50 people using the app at once, as production serves it (locust).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/playground_bench \\
        .venv/bin/python -m bench.load [--quick] [--users 50] [--minutes 2]

Starts the app like ``bench.web`` does (gunicorn with ``gunicorn.conf.py``,
``APP_ENV=production``, the database in ``DATABASE_URL``: give it one of its own) and runs
locust in this process for a bounded time. Each simulated user signs up and logs in (API
token and browser session), then repeatedly, with a short think time: browses its boards
(page and API), lists, creates and moves tasks, and now and then uploads a small CSV, trains
a decision tree on it and predicts one row with the model.

Prints throughput, latency percentiles and errors per request kind twice: while the people
arrive (ten seconds of sign-ups and log-ins, each a production-cost bcrypt hash) and then
for the steady state, and checks the targets: no errors in either, and p99 under 250 ms for
the task calls in the steady state. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import random
import re
import sys
import time

import gevent

# locust patches the standard library with gevent when imported: before bench.web's imports.
from locust import HttpUser, between, events, task
from locust.env import Environment

from bench.web import ROOT, Server, app_env, migrate

TASK_CALLS = ("tasks: list", "tasks: create", "tasks: move")
P99_TARGET_MS = 250
CSV = (ROOT / "data" / "sample_classification.csv").read_bytes().splitlines()
SMALL_CSV = b"\n".join(CSV[:121]) + b"\n"  # a header and 120 rows
_names = itertools.count()


class Person(HttpUser):
    """One user of the app: boards and tasks most of the time, a model now and then."""

    wait_time = between(0.5, 2.0)
    arrived = 0  # people who have signed up and logged in (see ``arrive``)

    def on_start(self):
        name = f"load_{os.getpid()}_{next(_names)}_{random.randrange(10**6)}"
        password = "load-password-123"
        user = {"email": f"{name}@example.com", "username": name, "password": password}
        self.client.post("/api/v1/auth/register", json=user, name="sign up")
        tokens = self.client.post(
            "/api/v1/auth/login", json={"username": name, "password": password}, name="log in"
        ).json()
        self.api = {"Authorization": f"Bearer {tokens['access_token']}"}
        page = self.client.get("/auth/login", name="log in page").text
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        self.client.post(
            "/auth/login",
            data={"csrf_token": csrf, "login": name, "password": password},
            name="log in (browser)",
        )
        boards = self.client.get("/api/v1/boards", headers=self.api, name="boards: list").json()
        self.board_id = boards["items"][0]["id"]
        self.task_ids: list[int] = []  # not self.tasks: locust keeps its task list there
        self.model_id = None
        Person.arrived += 1

    @task(4)
    def browse_board(self):
        self.client.get("/boards", name="page: boards")
        self.client.get(f"/boards/{self.board_id}", name="page: board")

    @task(6)
    def list_tasks(self):
        self.client.get("/api/v1/tasks?limit=20", headers=self.api, name="tasks: list")

    @task(5)
    def create_task(self):
        body = {"title": f"Task {random.randrange(1000)}", "labels": ["load"]}
        response = self.client.post(
            "/api/v1/tasks", json=body, headers=self.api, name="tasks: create"
        )
        if response.ok:
            self.task_ids.append(response.json()["id"])

    @task(5)
    def move_task(self):
        if not self.task_ids:
            return
        body = random.choice([{"position": 0}, {"status": "in_progress"}, {"status": "completed"}])
        self.client.post(
            f"/api/v1/tasks/{random.choice(self.task_ids)}/move",
            json=body,
            headers=self.api,
            name="tasks: move",
        )

    @task(1)
    def train_and_predict(self):
        files = {"file": ("customers.csv", io.BytesIO(SMALL_CSV), "text/csv")}
        dataset = self.client.post(
            "/api/v1/datasets", files=files, headers=self.api, name="datasets: upload"
        ).json()
        run = self.client.post(
            "/api/v1/runs",
            json={"dataset_id": dataset["id"], "algorithm": "decision_tree", "target": "plan"},
            headers=self.api,
            name="runs: start",
        ).json()
        deadline = time.monotonic() + 60
        while run["status"] not in ("succeeded", "failed", "cancelled"):
            if time.monotonic() > deadline:
                return
            gevent.sleep(0.5)
            run = self.client.get(
                f"/api/v1/runs/{run['id']}", headers=self.api, name="runs: poll"
            ).json()
        if run["model_id"]:
            row = {"age": 40, "monthly_spend": 50.0, "visits_per_month": 5, "region": "east",
                   "device": "mobile", "has_children": "no", "signup_date": "2023-01-01",
                   "customer_id": "C9999"}  # fmt: skip
            self.client.post(
                f"/api/v1/models/{run['model_id']}/predict",
                json={"rows": [row]},
                headers=self.api,
                name="models: predict",
            )


def table(environment: Environment) -> int:
    """Print the table of requests and errors; returns the number of failed requests."""
    stats = environment.stats
    print("| request | count | req/s | p50 | p95 | p99 | max | errors |")
    print("|---|---|---|---|---|---|---|---|")
    entries = sorted((e for e in stats.entries.values() if e.num_requests), key=lambda e: e.name)
    for entry in [*entries, stats.total]:
        print(
            f"| {entry.name} | {entry.num_requests} | {entry.total_rps:.1f} "
            f"| {entry.get_response_time_percentile(0.5):.0f} ms "
            f"| {entry.get_response_time_percentile(0.95):.0f} ms "
            f"| {entry.get_response_time_percentile(0.99):.0f} ms "
            f"| {entry.max_response_time:.0f} ms | {entry.num_failures} |"
        )
    for error in stats.errors.values():
        print(f"error: {error.method} {error.name}: {error.error} ({error.occurrences}x)")
    return stats.total.num_failures


def report(environment: Environment, *, latency: bool = True) -> bool:
    """Print the table; True when the targets are met (``latency=False``: only "no
    errors", for smoke runs too short to warm up, or even to make every kind of request:
    the users pick their actions at random)."""
    stats = environment.stats
    ok = table(environment) == 0
    for name in TASK_CALLS:
        entry = stats.entries.get((name, "GET" if name.endswith("list") else "POST"))
        if entry is None:
            print(f"{'target missed: ' if latency else ''}no {name} request was made")
            ok = ok and not latency
        elif latency and entry.get_response_time_percentile(0.99) >= P99_TARGET_MS:
            print(f"target missed: p99 of {name} is not under {P99_TARGET_MS} ms")
            ok = False
    print("targets met" if ok else "targets missed")
    return ok


def arrive(environment: Environment, users: int) -> bool:
    """Start ``users`` people (a tenth of them a second) and wait until every one has signed
    up and logged in; print that phase's table and start the statistics afresh, so the
    steady-state numbers are not the arrival's. True when no request failed."""
    runner = environment.runner
    runner.start(users, spawn_rate=max(users / 10, 1))
    deadline = time.monotonic() + 30 + users * 3
    while Person.arrived < users and time.monotonic() < deadline:
        gevent.sleep(0.2)
    print(f"Arrival: {Person.arrived} of {users} people signed up and logged in")
    ok = table(environment) == 0 and Person.arrived == users
    environment.stats.reset_all()
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="5 users for 10 s, errors only (a smoke run)"
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args(argv)
    users, seconds = (5, 10.0) if args.quick else (args.users, args.minutes * 60)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        raise SystemExit("Set DATABASE_URL to a database of its own (PostgreSQL, as production).")
    env = app_env(database_url)
    # Every simulated person comes from 127.0.0.1: the per-address limits on sign-ups and
    # failed log-ins would otherwise refuse all but the first ten.
    env.update(SIGNUP_RATE_LIMIT="100000 per hour", LOGIN_RATE_LIMIT="100000 per minute")
    migrate(ROOT, env)
    server = Server("webapp:create_app()", ROOT, env)
    try:
        environment = Environment(user_classes=[Person], host=server.url, events=events)
        runner = environment.create_local_runner()
        print(
            f"bench.load: {users} users for {seconds:g} s against {server.url}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        arrived = arrive(environment, users)
        print(f"\nSteady state: {users} people for {seconds:g} s")
        gevent.sleep(seconds)
        runner.quit()
        ok = report(environment, latency=not args.quick) and arrived
    finally:
        server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
