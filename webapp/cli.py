"""``flask`` commands: demo data for ``make run``, and ``flask worker`` for RQ jobs."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from webapp.db import get_session
from webapp.models import User
from webapp.services import users

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 (the documented demo account's, see README)


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option(
        "--password",
        envvar="DEMO_PASSWORD",
        default=DEMO_PASSWORD,
        show_default=True,
        help="The demo account's password (when it is created).",
    )
    def seed_demo(password: str) -> None:
        """Create the demo account (once) and print its credentials."""
        session = get_session()
        user = session.scalar(select(User).where(User.username == DEMO_USERNAME))
        if user is None:
            user = users.create_user(
                session=session, email=DEMO_EMAIL, username=DEMO_USERNAME, password=password
            )
            click.echo("Created the demo account.")
        _seed_demo_model(session, user)
        click.echo(f"Demo log-in: username '{DEMO_USERNAME}', password '{password}'")

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
    @click.option("--simple", is_flag=True, help="Run jobs in this process (no fork per job).")
    def worker(burst: bool, simple: bool) -> None:
        """Run training jobs queued on Redis (REDIS_URL) until stopped."""
        from redis import Redis
        from rq import Queue, SimpleWorker, Worker

        from webapp import jobs

        url = current_app.config.get("REDIS_URL")
        if not url:
            raise click.ClickException(
                "Set REDIS_URL (e.g. redis://localhost:6379/0): without it runs execute inside "
                "the web server and no worker is needed."
            )
        app_object = current_app._get_current_object()
        jobs.set_worker_app(app_object)
        connection = Redis.from_url(url)
        queue = Queue(app_object.config["RQ_QUEUE"], connection=connection)
        worker_class = SimpleWorker if simple else Worker
        click.echo(f"Worker listening on queue '{queue.name}' ({url.rsplit('@', 1)[-1]}).")
        worker_class([queue], connection=connection).work(burst=burst, with_scheduler=False)


def _seed_demo_model(session, user: User) -> None:
    """The sample data sets and a trained demo model for the demo user (once each).

    Training runs synchronously here (a KMeans on 300 rows takes well under a second), so
    ``make run`` starts with something to look at.
    """
    from webapp.models import Dataset, Run
    from webapp.services import datasets, runs, training

    have = set(session.scalars(select(Dataset.filename).where(Dataset.owner_id == user.id)))
    for key, (filename, _) in datasets.SAMPLES.items():
        if filename not in have and (datasets.SAMPLES_DIR / filename).is_file():
            datasets.create_sample_dataset(session=session, user=user, sample=key)
            click.echo(f"Added the demo data set {filename}.")
    if session.scalar(select(Run.id).where(Run.owner_id == user.id).limit(1)) is not None:
        return
    dataset = session.scalar(
        select(Dataset).where(Dataset.owner_id == user.id, Dataset.filename == "sample_data.csv")
    )
    if dataset is None:
        return
    settings = runs.RunSettings(
        dataset_id=dataset.id, algorithm="kmeans", params={"k": 3}, model_name="Customer segments"
    )
    run = runs.create_run(session=session, user=user, settings=settings, submit=lambda run: None)
    status = training.execute_run(session=session, run_id=run.id, worker="seed-demo")
    click.echo(f"Trained the demo model 'Customer segments' (run {run.id}: {status}).")
