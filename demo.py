#!/usr/bin/env python3
"""Walk through the Playground API with the standard library only, printing each step.

    python demo.py [--base-url http://127.0.0.1:5000]

With the app running (``make run``), it registers a fresh user, logs in, keeps a task,
uploads the sample data sets, trains a KMeans model and a random forest (polling their
progress), and predicts with both: one row as JSON and a small CSV file.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


class Api:
    def __init__(self, base_url: str):
        if not base_url.startswith(("http://", "https://")):
            raise SystemExit(f"--base-url must be an http:// or https:// URL, not {base_url!r}.")
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token: str | None = None

    def call(self, method: str, path: str, body=None, *, data=None, content_type=None):
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        # S310: the scheme is http(s), checked in __init__.
        request = urllib.request.Request(self.base + path, data=data, method=method,  # noqa: S310
                                         headers=headers)  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http(s))
                raw, kind = response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SystemExit(f"{method} {path} answered {exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise SystemExit(
                f"Cannot reach {self.base}: {exc.reason}. Is the app running (make run)?"
            ) from None
        if kind == "application/json":
            return json.loads(raw or b"null")
        return raw.decode()

    def upload(self, path: Path) -> dict:
        boundary = "----playground-demo-" + secrets.token_hex(8)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            + path.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.call("POST", "/datasets", data=body,
                         content_type=f"multipart/form-data; boundary={boundary}")  # fmt: skip


def step(text: str) -> None:
    print(f"\n== {text}")


def wait_for(api: Api, run: dict) -> dict:
    """Poll the run until it is finished, printing its progress."""
    last = None
    while run["status"] in ("queued", "running"):
        shown = (run["status"], round(run["progress"] * 100), run["stage"])
        if shown != last:
            print(f"   {run['status']:9} {shown[1]:3d}%  {run['stage']}")
            last = shown
        time.sleep(0.3)
        run = api.call("GET", f"/runs/{run['id']}")
    print(f"   {run['status']:9} 100%  {run['stage']}")
    if run["status"] != "succeeded":
        raise SystemExit(f"Run {run['id']} {run['status']}: {run['error']}")
    metrics = ", ".join(f"{k}={v:.3f}" for k, v in run["metrics"].items() if v is not None)
    print(f"   test metrics: {metrics}")
    print(f"   plots: {', '.join(p['name'] for p in run['plots'])}")
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    args = parser.parse_args(argv)
    api = Api(args.base_url)

    username = "demo-" + secrets.token_hex(4)
    password = secrets.token_urlsafe(12)
    step(f"Register {username}")
    user = api.call("POST", "/auth/register",
                    {"email": f"{username}@example.com", "username": username,
                     "password": password})  # fmt: skip
    print(f"   user id {user['id']}")

    step("Log in")
    tokens = api.call("POST", "/auth/login", {"username": username, "password": password})
    api.token = tokens["access_token"]
    me = api.call("GET", "/users/me")
    print(f"   logged in as {me['username']}; the access token expires in "
          f"{tokens.get('expires_in', '?')} s")  # fmt: skip

    step("Tasks")
    task = api.call("POST", "/tasks", {"title": "Train a first model", "priority": "high"})
    print(f"   created task {task['id']}: {task['title']!r} ({task['status']})")
    task = api.call("PATCH", f"/tasks/{task['id']}", {"status": "in_progress"})
    print(f"   moved it to {task['status']}")

    step("Upload data/sample_data.csv")
    clusters_data = api.upload(DATA / "sample_data.csv")
    names = [c["name"] for c in clusters_data["columns"]]
    print(f"   data set {clusters_data['id']}: {clusters_data['n_rows']} rows, columns {names}")

    step("Train KMeans, letting it suggest k")
    run = api.call("POST", "/runs", {"dataset_id": clusters_data["id"], "algorithm": "kmeans",
                                     "params": {"suggest_k": True}})  # fmt: skip
    run = wait_for(api, run)
    k = api.call("GET", f"/models/{run['model_id']}")["params"]["k"]
    print(f"   the silhouette suggested k = {k}")

    step("Which cluster is a 30-year-old earning 70k with a spending score of 80?")
    customer = {"age": 30, "annual_income_k": 70, "spending_score": 80}
    answer = api.call("POST", f"/models/{run['model_id']}/predict", {"rows": [customer]})
    print(f"   cluster {answer['predictions'][0]}")

    step("Upload data/sample_classification.csv and train a random forest on 'plan'")
    plans = api.upload(DATA / "sample_classification.csv")
    run = api.call("POST", "/runs", {"dataset_id": plans["id"], "algorithm": "random_forest",
                                     "target": "plan", "params": {"n_estimators": 50},
                                     "model_name": "Plans"})  # fmt: skip
    run = wait_for(api, run)
    model = api.call("GET", f"/models/{run['model_id']}")
    print(f"   model {model['name']} v{model['version']} takes "
          f"{[c['name'] for c in model['input_schema']]}")  # fmt: skip

    step("Predict one customer's plan (JSON), and a bad row next to it")
    row = {"age": 41, "monthly_spend": 80.5, "visits_per_month": 9, "region": "north",
           "device": "mobile", "has_children": "yes", "signup_date": "2023-03-01"}  # fmt: skip
    answer = api.call("POST", f"/models/{model['id']}/predict",
                      {"rows": [row, {**row, "age": "forty"}]})  # fmt: skip
    odds = dict(zip(answer["classes"], answer["probabilities"][0], strict=True))
    print(f"   row 1: {answer['predictions'][0]}  "
          + ", ".join(f"{k} {v:.0%}" for k, v in odds.items()))  # fmt: skip
    print(f"   row 2: {answer['errors'][1]}")

    step("Predict a CSV file")
    header = ",".join(row)
    other = {**row, "region": "south", "monthly_spend": 15}
    lines = [header, ",".join(map(str, row.values())), ",".join(map(str, other.values()))]
    text = api.call("POST", f"/models/{model['id']}/predict",
                    data="\n".join(lines).encode(), content_type="text/csv")  # fmt: skip
    for line in text.strip().splitlines():
        print(f"   {line}")

    step("Done")
    task = api.call("PATCH", f"/tasks/{task['id']}", {"status": "completed"})
    print(f"   task {task['id']} is {task['status']}. Log in as {username} to see it all.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
