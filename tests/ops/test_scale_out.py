"""Scale-out: two gunicorn servers (two workers each), two RQ workers, one PostgreSQL and one
Redis, and one user's whole journey alternating between the servers, in Chromium and over
the API. Whatever a request needs must be in PostgreSQL, Redis or the signed cookie, never
in one process's memory: a session made on A works on B, a CSRF token from A's form is
accepted by B, an upload made on A is trained on B by whichever worker takes the job and
its plot is drawn by A, an ETag from A guards a write on B, an idempotency key sent to B is
replayed by A, and failed log-ins on both servers add up to one rate limit.
"""

from __future__ import annotations

import re
import uuid

import requests
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.test_auth_flow import sign_up
from tests.e2e.test_ml import expect_real_image, wait_for_success
from tests.ml_helpers import DATA
from tests.ops.services import Gunicorn, PrivateRedis, RQWorker, app_env, migrate

PASSWORD = "first-password-123"  # sign_up's
LOGIN_LIMIT = 5


def test_one_users_journey_across_two_servers_and_two_workers(
    postgres, figures, page: Page, tmp_path
):
    url = postgres.create_database("ops_scale_out")
    migrate(url)
    redis = PrivateRedis(persistent=False)
    env = app_env(url, redis.url, LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT} per minute")
    servers, workers = [], []
    engine = create_engine(url)
    try:
        # Each server has its own instance directory: nothing may depend on local files.
        servers = [
            Gunicorn({**env, "INSTANCE_PATH": str(tmp_path / name)}, workers=2, name=name)
            for name in ("web-a", "web-b")
        ]
        workers = [RQWorker(env, name=f"worker-{i}") for i in (1, 2)]
        a, b = (server.url for server in servers)
        page.set_default_timeout(30_000)

        # Log-in session: signed up on A, logged in on B.
        sign_up(page, a, "ada")
        expect(page.get_by_test_id("nav-username")).to_have_text("ada")
        page.goto(f"{b}/boards")
        expect(page.get_by_test_id("nav-username")).to_have_text("ada")

        # CSRF: a form B rendered, posted to B; then a form A rendered, posted to B.
        page.get_by_label("Name", exact=True).fill("Made on B")
        page.get_by_role("button", name="Create board").click()
        expect(page.get_by_text("Created “Made on B”.")).to_be_visible()
        page.goto(f"{a}/boards")
        form = page.locator("form", has=page.get_by_role("button", name="Create board"))
        token = form.locator("input[name=csrf_token]").input_value()
        # Posted by the browser's own request context (its cookies): a form on A cannot
        # post to B itself, the CSP's form-action 'self' stops it (another origin here,
        # one origin behind a real load balancer).
        posted = page.request.post(
            f"{b}/boards", form={"csrf_token": token, "name": "Token from A"}, max_redirects=0
        )
        assert posted.status == 302, posted.text()[:300]
        page.goto(f"{b}/boards")
        expect(page.get_by_text("Token from A").first).to_be_visible()

        # Upload on A, see it on B, train on B, the plot drawn by A.
        page.goto(f"{a}/datasets/")
        page.get_by_label("CSV file", exact=True).set_input_files(DATA / "sample_data.csv")
        page.get_by_role("button", name="Upload").click()
        expect(page).to_have_url(re.compile(r"/datasets/\d+$"))
        dataset_path = page.url.removeprefix(a)
        page.goto(f"{b}{dataset_path}")
        expect(page.get_by_role("heading", level=1)).to_have_text("sample_data")
        page.get_by_role("link", name="Train a model").click()
        page.get_by_test_id("start-run").click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(b)}/runs/\d+$"))
        run_path = page.url.removeprefix(b)
        wait_for_success(page)
        page.goto(f"{a}{run_path}")
        expect_real_image(page, 'img[data-plot="clusters"]')

        # The API, alternating: token from A used on B, ETag from A guarding B, a key
        # sent to B replayed by A.
        api = requests.Session()
        login = api.post(f"{a}/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        key = {"Idempotency-Key": str(uuid.uuid4())}
        created = api.post(f"{b}/api/v1/tasks", json={"title": "Across"}, headers=key)
        assert created.status_code == 201
        replayed = api.post(f"{a}/api/v1/tasks", json={"title": "Across"}, headers=key)
        assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.json()["id"] == created.json()["id"]
        task_url = f"/api/v1/tasks/{created.json()['id']}"
        etag = api.get(f"{a}{task_url}").headers["ETag"]
        changed = api.patch(f"{b}{task_url}", json={"title": "Across, renamed"},
                            headers={"If-Match": etag})  # fmt: skip
        assert changed.status_code == 200
        stale = api.patch(f"{a}{task_url}", json={"title": "Lost update"},
                          headers={"If-Match": etag})  # fmt: skip
        assert stale.status_code == 412
        runs = api.get(f"{a}/api/v1/runs").json()["items"]
        assert [r["status"] for r in runs] == ["succeeded"]
        assert runs[0]["plots"]

        # Rate limit: failed log-ins on A and B count together.
        answers = []
        for attempt in range(LOGIN_LIMIT + 1):
            server = (a, b)[attempt % 2]
            answers.append(
                requests.post(
                    f"{server}/api/v1/auth/login",
                    json={"username": "ada", "password": "wrong-pass"},
                    timeout=30,
                ).status_code
            )
        assert answers == [401] * LOGIN_LIMIT + [429]
        page.context.clear_cookies()  # a visitor now: the browser's form shares the limit
        page.goto(f"{a}/auth/login")
        page.get_by_label("Username or email").fill("ada")
        page.get_by_label("Password").fill("wrong-pass-again")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()

        # Metrics add up every gunicorn worker of a server; job figures come from the database.
        for _ in range(10):
            requests.get(f"{a}/health", timeout=30)
        metrics = requests.get(f"{a}/metrics", timeout=30).text
        health = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("playground_http_requests_total{")
            and 'endpoint="main.health"' in line
        )
        assert health >= 10
        assert 'playground_runs{status="succeeded"} 1.0' in metrics
        with engine.connect() as conn:
            ran_on = conn.scalar(text("SELECT worker FROM runs"))
        figures.update(
            servers=len(servers), gunicorn_workers_each=2, rq_workers=len(workers),
            run_executed_by=ran_on.split(":")[0], login_attempts_until_429=len(answers),
        )  # fmt: skip
    except BaseException:
        for process in [*servers, *workers]:
            print(f"--- {process.name}\n{process.tail(40)}")
        raise
    finally:
        for process in [*workers, *servers]:
            process.stop()
        redis.close()
        engine.dispose()
