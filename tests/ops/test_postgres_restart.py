"""PostgreSQL restarted under write load, behind a real gunicorn server.

Four clients create tasks as fast as the server answers, each write with its own
``Idempotency-Key`` and retried with the same key until it is answered. Mid-way PostgreSQL
is stopped the hard way (``pg_ctl -m immediate``: no checkpoint, the WAL is replayed at the
next start) and started again a few seconds later. Checked: every acknowledged write is in
the database, none twice; the API answers 503 with ``Retry-After`` and a JSON body while the
database is down, and a page answers a 503 page; no 500 at all; writes succeed again after
the restart with the same gunicorn workers (nothing restarted but PostgreSQL).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter

import requests
from sqlalchemy import create_engine, text

from tests.ops.services import Gunicorn, app_env, migrate, wait_until

WRITERS = 4
DOWN_SECONDS = 4
PASSWORD = "ops-password-123"


class Writer(threading.Thread):
    """Creates tasks until stopped; retries each with its key until it has an answer."""

    def __init__(self, url: str, token: str, name: str, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.url, self.stop = url, stop
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.acknowledged: list[tuple[str, float]] = []  # (title, when)
        self.in_doubt: list[str] = []  # carried out, answer lost (409 from the key)
        self.statuses: Counter = Counter()
        self.unavailable: list[requests.Response] = []

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            number += 1
            title = f"{self.name}-{number}"
            key = str(uuid.uuid4())
            while True:
                try:
                    response = self.http.post(
                        f"{self.url}/api/v1/tasks", json={"title": title},
                        headers={"Idempotency-Key": key}, timeout=10,
                    )  # fmt: skip
                except requests.RequestException:
                    self.statuses["no answer"] += 1
                    time.sleep(0.2)
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code == 201:
                    self.acknowledged.append((title, time.monotonic()))
                    break
                if response.status_code == 503:
                    self.unavailable.append(response)
                    time.sleep(0.2)  # Retry-After says 5 s; we want to see the recovery
                    continue
                if response.status_code == 409 and "still being" in response.text:
                    time.sleep(0.2)
                    continue
                if response.status_code == 409:
                    self.in_doubt.append(title)
                    break
                self.in_doubt.append(f"unexpected {response.status_code}: {response.text}")
                return


def _browser_session(url: str) -> requests.Session:
    """Sign up through the form (with its CSRF token), as a browser does."""
    session = requests.Session()
    page = session.get(f"{url}/auth/signup").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    response = session.post(
        f"{url}/auth/signup",
        data={"csrf_token": token.group(1), "email": "pat@example.com", "username": "pat",
              "password": PASSWORD, "confirm": PASSWORD},
    )  # fmt: skip
    assert response.ok and "pat" in session.get(f"{url}/boards").text, response.text[:500]
    return session


def test_postgres_restart_under_write_load(postgres, figures):
    url = postgres.create_database("ops_restart")
    migrate(url)
    web = Gunicorn(app_env(url), workers=2)
    engine = create_engine(url)
    stop = threading.Event()
    writers: list[Writer] = []
    try:
        api = requests.Session()
        assert api.post(f"{web.url}/api/v1/auth/register", json={
            "email": "ada@example.com", "username": "ada", "password": PASSWORD,
        }).status_code == 201  # fmt: skip
        token = api.post(
            f"{web.url}/api/v1/auth/login", json={"username": "ada", "password": PASSWORD}
        ).json()["access_token"]
        browser = _browser_session(web.url)
        workers_before = web.worker_pids()

        writers = [Writer(web.url, token, f"w{i}", stop) for i in range(WRITERS)]
        for writer in writers:
            writer.start()
        wait_until(lambda: sum(len(w.acknowledged) for w in writers) >= 40, 60, "writes")

        postgres.stop("immediate")
        went_down = time.monotonic()
        wait_until(lambda: sum(len(w.unavailable) for w in writers) >= WRITERS, 30, "503s")
        page = browser.get(f"{web.url}/boards")
        health = requests.get(f"{web.url}/health", timeout=30)
        ready = requests.get(f"{web.url}/ready", timeout=30)
        time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - went_down)))
        postgres.start()
        came_up = time.monotonic()

        def written_after_restart():
            return any(when > came_up for w in writers for _, when in w.acknowledged)

        wait_until(written_after_restart, 60, "a write after the restart")
        recovered = min(when for w in writers for _, when in w.acknowledged if when > came_up)
        time.sleep(2)  # a little more load after the recovery
        stop.set()
        for writer in writers:
            writer.join(30)

        # While it was down: 503s with Retry-After and a JSON error; a 503 page; alive.
        sample = next(r for w in writers for r in w.unavailable)
        assert sample.headers["Retry-After"].isdigit()
        assert sample.json()["error"]["code"] == "service_unavailable"
        assert page.status_code == 503 and "text/html" in page.headers["Content-Type"]
        assert health.status_code == 200
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
        statuses = sum((w.statuses for w in writers), Counter())
        assert statuses[500] == 0, statuses

        # Every acknowledged write is there, and no write is there twice.
        acknowledged = [title for w in writers for title, _ in w.acknowledged]
        in_doubt = [title for w in writers for title in w.in_doubt]
        with engine.connect() as conn:
            present = Counter(conn.scalars(text("SELECT title FROM tasks")))
        missing = [title for title in acknowledged if title not in present]
        twice = {title: n for title, n in present.items() if n > 1}
        assert not missing, f"acknowledged writes lost: {missing[:10]}"
        assert not twice, f"written twice: {twice}"
        assert all(present[title] == 1 for title in in_doubt)  # "carried out" was true

        # Recovered without restarting the app: the same gunicorn workers answered.
        assert web.worker_pids() == workers_before
        assert requests.get(f"{web.url}/ready", timeout=30).status_code == 200
        figures.update(
            writes_acknowledged=len(acknowledged),
            writes_present=sum(present[t] for t in acknowledged),
            rows_in_table=sum(present.values()),
            answered_409_carried_out=len(in_doubt),
            answers_503=statuses[503],
            answers_500=statuses[500],
            seconds_down=round(came_up - went_down, 1),
            seconds_to_first_write_after_restart=round(recovered - came_up, 2),
        )
    except BaseException:
        print(web.tail(80))
        raise
    finally:
        stop.set()
        if not postgres.is_up():
            postgres.start()
        web.stop()
        engine.dispose()
