"""Helpers shared by the training-run tests: upload a sample, start a run, wait for it."""

from __future__ import annotations

import time
from pathlib import Path

from tests.utils.uploads import multipart
from webapp import jobs

DATA = Path(__file__).resolve().parents[1] / "data"


def upload(client, headers, filename="sample_data.csv", content=None, name=None) -> dict:
    content = (DATA / filename).read_bytes() if content is None else content
    body, content_type = multipart(filename, content)
    response = client.post(
        "/api/v1/datasets",
        headers=headers,
        data=body,
        content_type=content_type,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def start(client, headers, **body):
    return client.post("/api/v1/runs", headers=headers, json=body)


def wait(client, headers, run_id: int, app=None, timeout: float = 60) -> dict:
    """Poll the run until it is finished (or fail after ``timeout`` seconds)."""
    if app is not None:
        backend = app.extensions.get("jobs")
        if isinstance(backend, jobs.InProcessBackend):
            backend.wait_idle(timeout)
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/v1/runs/{run_id}", headers=headers).get_json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
        time.sleep(0.1)


def train(client, headers, app=None, **body) -> dict:
    response = start(client, headers, **body)
    assert response.status_code == 202, response.get_json()
    return wait(client, headers, response.get_json()["id"], app=app)


def shutdown_jobs(app) -> None:
    backend = app.extensions.pop("jobs", None)
    if isinstance(backend, jobs.InProcessBackend):
        backend.wait_idle(30)
        backend.shutdown()
