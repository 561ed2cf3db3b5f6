"""What the caches of :mod:`webapp.cache` save, measured: each cached thing made from scratch,
found in this process, and found in Redis by another process (this process's tier emptied).

    .venv/bin/python -m bench.cache_bench [--rows 50000] [--repeat 7]

Runs the app on a throw-away SQLite database (or ``DATABASE_URL``) with Redis at
``BENCH_REDIS_URL`` (default: database 12 of 127.0.0.1:6379, emptied of our keys after).
Prints medians and the ratio to "made" (below 1: the cache is faster).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.conftest import alembic_config, make_test_app
from webapp.cache import PREFIX

REDIS = "redis://127.0.0.1:6379/12"


def table_csv(rows: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    out.write("id,age,income,score,visits,region,device,joined,plan\n")
    regions, devices = np.array(["north", "south", "east", "west"]), np.array(["mobile", "web"])
    for i in range(rows):
        out.write(
            f"{i},{rng.integers(18, 80)},{rng.normal(50, 15):.2f},{rng.integers(0, 100)},"
            f"{rng.poisson(4)},{rng.choice(regions)},{rng.choice(devices)},"
            f"2024-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d},"
            f"{['basic', 'standard', 'premium'][rng.integers(0, 3)]}\n"
        )
    return out.getvalue().encode()


def median_ms(action, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    from redis import Redis
    from sqlalchemy import select

    from webapp.db import get_session
    from webapp.models import ModelVersion, Run, User
    from webapp.services import datasets, model_versions, plots, run_settings, runs, training

    redis = Redis.from_url(REDIS)
    redis.ping()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        from alembic import command

        command.upgrade(alembic_config(url), "head")
        local_app = make_test_app(url, Path(tmp) / "instance")
        shared_app = make_test_app(url, Path(tmp) / "instance", REDIS_URL=REDIS)
        from webapp.services import users

        with shared_app.app_context():
            session = get_session()
            users.create_user(session=session, email="b@example.com", username="bench",
                              password="bench-password-123")  # fmt: skip
            user = session.scalars(select(User)).one()
            dataset = datasets.create_dataset(session=session, user=user, filename="t.csv",
                                              content=table_csv(args.rows))  # fmt: skip
            run_ids = []
            for settings in (
                {"algorithm": "random_forest", "target": "plan", "params": {"n_estimators": 50}},
                {"algorithm": "kmeans", "features": ["age", "income", "score", "visits"]},
            ):
                settings = run_settings.parse_settings({"dataset_id": dataset.id, **settings})
                run = runs.create_run(session=session, user=user, settings=settings,
                                      submit=lambda run: None)  # fmt: skip
                training.execute_run(session=session, run_id=run.id, worker="bench")
                run_ids.append(run.id)
            forest_id, kmeans_id = run_ids

        rows = []

        def measure(label, make, local, shared, clear):
            with local_app.app_context():
                made = median_ms(make, args.repeat, before=clear)
                hit = median_ms(local, args.repeat)
            with shared_app.app_context():
                shared()  # fill Redis
                from_redis = median_ms(shared, args.repeat, before=clear)
            rows.append((label, made, hit, from_redis))

        def frame():
            session = get_session()
            ds = session.get(type(dataset), dataset.id)
            return datasets.load_dataframe(session=session, dataset=ds)

        measure(f"data set {args.rows:,} rows × 9: parsed table", frame, frame, frame,
                datasets.clear_cache)  # fmt: skip

        for run_id, name in ((kmeans_id, "clusters"), (forest_id, "confusion_matrix"),
                             (forest_id, "trees_curve")):  # fmt: skip

            def plot(run_id=run_id, name=name):
                session = get_session()
                run = session.get(Run, run_id)
                session.refresh(run, ["results"])
                return plots.render(run, name)

            measure(f"plot {name}", plot, plot, plot, plots.clear_cache)

        def model():
            session = get_session()
            version = session.scalars(
                select(ModelVersion).where(ModelVersion.run_id == forest_id)
            ).one()
            return model_versions.load(session=session, version=version)

        # Loaded models are cached in each process only: a shared copy would still have to
        # be read from bytes, the step that costs (measured as "redis" below with the cache
        # emptied each time, i.e. what a second process pays).
        measure("forest model, 50 trees (local cache only)", model, model, model,
                model_versions._loaded.clear)  # fmt: skip

    for key in redis.scan_iter(f"{PREFIX}:*"):
        redis.delete(key)
    print(f"{'cached thing':46} {'made':>9} {'this process':>13} {'ratio':>7} "
          f"{'Redis':>9} {'ratio':>7}")  # fmt: skip
    for label, made, hit, shared in rows:
        print(f"{label:46} {made:8.2f}ms {hit:12.3f}ms {hit / made:7.3f} "
              f"{shared:8.2f}ms {shared / made:7.3f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
