"""Predictions through Playground against mlcore's own predict and scikit-learn's.

Run from the repository root::

    .venv/bin/python -m bench.predict            # the full table
    .venv/bin/python -m bench.predict --quick    # fewer repeats, a smaller CSV: a smoke run

A random forest (100 trees) is trained on ``data/sample_classification.csv`` through the real
services (SQLite in a temporary folder). Then, each timing the median of interleaved repeats:

- one row: our prediction service (``predictions.predict_rows``: checks, encoding, model) and
  the JSON API request (routing, token, lookup, service, JSON) against mlcore's
  ``predict_proba`` on the already-encoded row. Target: the service <= 2x mlcore.
- 10,000 rows: the service against scikit-learn's ``RandomForestClassifier.predict`` (same
  trees' settings, fitted on the same encoded training matrix). Target: <= 1x scikit-learn.
  The service's own parts (encoding, model) are shown so the rest is visible, and the JSON
  API request (parsing and checking 10,000 rows, the JSON answer) for information.
- a large CSV batch through the API (1,000,000 rows; 100,000 with ``--quick``): the web
  process's peak memory above what it held before the request (VmHWM, in a subprocess of its
  own, the request body already in memory), and the time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_classification.csv"
PASSWORD = "bench-password-123"


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


class Setup:
    """An app on a temporary SQLite database with a trained forest and an API token."""

    def __init__(self, folder: Path):
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import select

        from webapp import create_app
        from webapp.db import get_session
        from webapp.models import ModelVersion
        from webapp.services import datasets, runs, training, users

        url = f"sqlite:///{folder / 'bench.db'}"
        config = Config(str(ROOT / "alembic.ini"))
        config.set_main_option("script_location", str(ROOT / "migrations"))
        config.attributes["database_url"] = url
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        secret = "bench-secret-key-that-is-long-enough-0123456789"
        self.app = create_app({
            "DATABASE_URL": url, "SECRET_KEY": secret, "JWT_SECRET_KEY": secret + "-jwt",
            "INSTANCE_PATH": str(folder / "instance"), "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://", "RUN_SWEEP_SECONDS": 0,
            "MAX_CONTENT_LENGTH": 512 * 2**20,
        })  # fmt: skip
        self.context = self.app.app_context()
        self.context.push()
        self.session = session = get_session()
        user = users.create_user(
            session=session, email="bench@example.com", username="bench", password=PASSWORD
        )
        dataset = datasets.create_sample_dataset(
            session=session, user=user, sample="sample_classification"
        )
        settings = runs.RunSettings(
            dataset_id=dataset.id, algorithm="random_forest", target="plan",
            params={"n_estimators": 100},
        )  # fmt: skip
        run = runs.create_run(
            session=session, user=user, settings=settings, submit=lambda run: None
        )
        assert training.execute_run(session=session, run_id=run.id, worker="bench") == "succeeded"
        self.version = session.scalars(
            select(ModelVersion).where(ModelVersion.run_id == run.id)
        ).one()
        self.client = self.app.test_client()
        login = self.client.post(
            "/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}
        )
        self.headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
        self.frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
        # Rows as a JSON client sends them: numbers as numbers, the rest as text.
        features = pd.read_csv(SAMPLE).drop(columns=["plan"])
        self.rows = json.loads(features.to_json(orient="records"))
        self.text_rows = self.frame.drop(columns=["plan"]).to_dict("records")

    def batch(self, n: int) -> list[dict]:
        return [self.rows[i % len(self.rows)] for i in range(n)]

    def csv(self, n: int) -> bytes:
        reps = -(-n // len(self.frame))
        frame = pd.concat([self.frame.drop(columns=["plan"])] * reps).iloc[:n]
        return frame.to_csv(index=False, lineterminator="\n").encode()


def _median_ms(fns: dict, repeats: int) -> dict:
    """Median CPU time (ms) of each function, the functions interleaved round by round.

    CPU time of this process, not wall time: on a shared machine wall time mostly measures
    the other processes (medians moved 3x between runs; CPU time stays within 10%)."""
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            times[name].append((time.process_time() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def timings(setup: Setup, quick: bool) -> dict:
    from sklearn.ensemble import RandomForestClassifier

    from mlcore.preprocessing import prepare_target
    from webapp.services import model_versions as model_service
    from webapp.services import predictions

    saved = model_service.load(session=setup.session, version=setup.version)
    pre, model = saved.preprocessor, saved.model
    one = setup.rows[:1]
    X_one = pre.transform_rows(one).X
    url = f"/api/v1/models/{setup.version.id}/predict"

    def api_one():
        response = setup.client.post(url, json={"rows": one}, headers=setup.headers)
        assert response.status_code == 200, response.get_json()

    single = _median_ms(
        {
            "mlcore predict_proba": lambda: model.predict_proba(X_one),
            "service": lambda: predictions.predict_rows(
                session=setup.session, version=setup.version, rows=one
            ),
            "service, values as text": lambda: predictions.predict_rows(
                session=setup.session, version=setup.version, rows=setup.text_rows[:1]
            ),
            "API request": api_one,
        },
        repeats=100 if quick else 400,
    )

    batch = setup.batch(10_000)
    X_batch = pre.transform_rows(batch).X
    target = prepare_target(setup.frame["plan"], "classification")
    sk = RandomForestClassifier(
        n_estimators=model.n_estimators, max_features="sqrt", random_state=42
    ).fit(pre.transform(setup.frame), target.y)

    def api_batch():
        response = setup.client.post(url, json={"rows": batch}, headers=setup.headers)
        assert response.status_code == 200, response.get_json()

    many = _median_ms(
        {
            "scikit-learn predict": lambda: sk.predict(X_batch),
            "mlcore predict_proba": lambda: model.predict_proba(X_batch),
            "mlcore transform_rows": lambda: pre.transform_rows(batch),
            "service": lambda: predictions.predict_rows(
                session=setup.session, version=setup.version, rows=batch
            ),
            "API request (JSON)": api_batch,
        },
        repeats=5 if quick else 15,
    )
    return {"single": single, "batch": many}


def measure_memory(n_rows: int) -> dict:
    """In this (fresh) process: a CSV of ``n_rows`` through the API, peak RSS above before."""
    with tempfile.TemporaryDirectory() as folder:
        setup = Setup(Path(folder))
        content = setup.csv(n_rows)
        url = f"/api/v1/models/{setup.version.id}/predict"
        headers = {**setup.headers, "Content-Type": "text/csv"}
        setup.client.post(url, data=setup.csv(100), headers=headers)  # warm up
        _reset_peak_rss()
        before = _status_kib("VmRSS")
        start = time.perf_counter()
        response = setup.client.post(url, data=content, headers=headers, buffered=False)
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - start
        assert response.status_code == 200 and lines == n_rows + 1, (response.status, lines)
        peak_mib = (_status_kib("VmHWM") - before) / 1024
        return {
            "rows": n_rows,
            "upload_mib": len(content) / 2**20,
            "answer_mib": size / 2**20,
            "peak_mib": peak_mib,
            "seconds": seconds,
        }


def _memory_in_subprocess(n_rows: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.predict", "--memory", str(n_rows)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a smaller CSV")
    parser.add_argument("--memory", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory:
        print(json.dumps(measure_memory(args.memory)))
        return 0

    with tempfile.TemporaryDirectory() as folder:
        setup = Setup(Path(folder))
        result = timings(setup, args.quick)
        setup.context.pop()
    single, batch = result["single"], result["batch"]
    mlcore_one = single["mlcore predict_proba"]
    print("One row (median CPU ms; ratio to mlcore's predict_proba; target: service <= 2.00)")
    for name, ms in single.items():
        print(f"  {name:<26} {ms:8.3f} ms   {ms / mlcore_one:6.2f}x")
    reference = batch["scikit-learn predict"]
    print("10,000 rows (median CPU ms; ratio to scikit-learn's predict; target: service <= 1.00)")
    for name, ms in batch.items():
        print(f"  {name:<26} {ms:8.1f} ms   {ms / reference:6.2f}x")

    n_rows = 100_000 if args.quick else 1_000_000
    memory = _memory_in_subprocess(n_rows)
    print(
        f"CSV batch of {memory['rows']:,} rows through the API ({memory['upload_mib']:.0f} MB in, "
        f"{memory['answer_mib']:.0f} MB out): peak memory +{memory['peak_mib']:.0f} MB above "
        f"the request body ({memory['peak_mib'] / memory['upload_mib']:.1f}x the upload), "
        f"{memory['seconds']:.1f} s wall"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
