"""``flask seed-demo`` (demo data sets and a trained demo model, idempotent) and
``flask worker`` without Redis."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.db import get_session
from webapp.models import Dataset, ModelVersion, Run


def test_seed_demo_trains_a_demo_model_once(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Trained the demo model 'Customer segments'" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "Trained" not in second.output
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count(Dataset.id))) == 2
        assert session.scalar(select(func.count(Run.id))) == 1
        version = session.scalars(select(ModelVersion)).one()
        assert (version.name, version.version) == ("Customer segments", 1)
        assert session.scalars(select(Run)).one().status == "succeeded"


def test_flask_worker_needs_redis_url(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "Set REDIS_URL" in result.output
