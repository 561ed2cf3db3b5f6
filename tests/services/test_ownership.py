"""The one owner-scoped lookup, for every kind of object a user owns: the owner gets it;
another user, a missing id and an id no database column can hold all get the same 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.ml_helpers import DATA
from tests.utils.auth import create_user
from webapp.db import MAX_ID, get_session
from webapp.errors import NotFound
from webapp.models import Board, Dataset, ModelVersion, Run, Task, User
from webapp.services import datasets, runs, tasks, training
from webapp.services.board_inputs import TaskCreate
from webapp.services.ownership import get_owned


@pytest.fixture
def owned_objects(app):
    """One of each kind for alice; mallory owns nothing of hers."""
    create_user(app, "alice")
    create_user(app, "mallory")
    with app.app_context():
        session = get_session()
        alice, mallory = (
            session.scalar(select(User).where(User.username == name))
            for name in ("alice", "mallory")
        )
        task_in = TaskCreate(title="Write the report")
        task = tasks.create_task(session=session, user=alice, task_in=task_in)
        dataset = datasets.create_dataset(
            session=session,
            user=alice,
            filename="sample_data.csv",
            content=(DATA / "sample_data.csv").read_bytes(),
        )
        run = runs.create_run(
            session=session,
            user=alice,
            settings=runs.RunSettings(dataset_id=dataset.id, algorithm="kmeans"),
            submit=lambda run: None,
        )
        training.execute_run(session=session, run_id=run.id, worker="test")
        version = session.scalars(select(ModelVersion)).one()
        objects = {
            Board: task.board_id,
            Task: task.id,
            Dataset: dataset.id,
            Run: run.id,
            ModelVersion: version.id,
        }
        yield session, alice, mallory, objects


@pytest.mark.parametrize("model", [Board, Task, Dataset, Run, ModelVersion])
def test_get_owned_answers_the_owner_only(owned_objects, model):
    session, alice, mallory, objects = owned_objects
    found = get_owned(session, model, objects[model], alice)
    assert isinstance(found, model) and found.id == objects[model]
    for user, object_id in (
        (mallory, objects[model]),  # someone else's
        (alice, objects[model] + 1000),  # missing
        (alice, 0),
        (alice, MAX_ID + 1),  # beyond the column: never asked of the database
        (alice, 2**63),
    ):
        with pytest.raises(NotFound) as caught:
            get_owned(session, model, object_id, user)
        assert caught.value.status == 404 and "not found" in caught.value.message


def test_get_owned_loads_deferred_columns_on_request(owned_objects):
    session, alice, _, objects = owned_objects
    session.expunge_all()
    run = get_owned(session, Run, objects[Run], alice, load=(Run.results,))
    assert "results" in run.__dict__  # loaded with the row, not on first access
    plain = get_owned(session, Dataset, objects[Dataset], alice)
    assert "profile" not in plain.__dict__
