"""Task order with gapped ranks: a write touches only its own row and costs the same number
of statements on a short and a long column; positions as clients see them stay 0..n-1;
a column whose gaps ran out is rebalanced without changing its order or any version; the
migration keeps the order of existing tasks. No timings here (see bench/web.py)."""

from __future__ import annotations

import random
import re
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, insert, select, text

from tests.conftest import alembic_config
from tests.utils.auth import create_user
from webapp.db import get_engine, get_session
from webapp.models import Board, Task, User
from webapp.services import task_views
from webapp.services import tasks as task_service
from webapp.services.board_inputs import TaskCreate, TaskMove, TaskUpdate


@pytest.fixture
def ctx(app):
    user_id = create_user(app, "alice")
    with app.app_context():
        session = get_session()
        user = session.get(User, user_id)
        board_id = task_service.create_task(
            session=session, user=user, task_in=TaskCreate(title="first")
        ).board_id
        yield session, user, board_id


@contextmanager
def statements(session):
    """The SQL statements run inside the block (what a request costs, without timing it)."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def bulk(session, user, board_id, count, status="pending"):
    """``count`` tasks appended to a column in one INSERT (quicker than the service)."""
    last = session.scalar(select(Task.rank).order_by(Task.rank.desc()).limit(1)) or 0
    rows = [
        {"board_id": board_id, "owner_id": user.id, "title": f"t{i}", "description": "",
         "priority": "medium", "status": status, "rank": last + (i + 1) * task_service.GAP,
         "version": 1}
        for i in range(count)
    ]  # fmt: skip
    session.execute(insert(Task), rows)
    session.commit()


def column(session, user, board_id, status="pending"):
    tasks, _ = task_views.list_tasks(
        session=session, user=user, board_id=board_id, statuses=[status]
    )
    assert [t.position for t in tasks] == list(range(len(tasks)))  # dense, as clients see
    return [t.title for t in tasks]


def write_costs(session, user, board_id) -> dict:
    """Statements run by a create, a move to the top, a completion and a move above a
    neighbour, on the board as it is."""
    costs = {}
    ids = session.scalars(select(Task.id).where(Task.board_id == board_id)).all()
    with statements(session) as seen:
        task_service.create_task(
            session=session, user=user, task_in=TaskCreate(title="new", board_id=board_id)
        )
    costs["create"] = seen
    task = session.get(Task, ids[-1])
    with statements(session) as seen:
        task_service.move_task(session=session, task=task, move=TaskMove(position=0))
    costs["move to top"] = seen
    with statements(session) as seen:
        task_service.update_task(
            session=session, user=user, task=task, changes=TaskUpdate(status="completed")
        )
    costs["complete"] = seen
    task = session.get(Task, ids[1])
    with statements(session) as seen:
        task_service.move_task(session=session, task=task, move=TaskMove(), before_id=ids[-2])
    costs["move above a neighbour"] = seen
    return costs


def test_writes_cost_the_same_on_a_short_and_a_long_column(ctx):
    session, user, board_id = ctx
    bulk(session, user, board_id, 5)
    short = write_costs(session, user, board_id)
    bulk(session, user, board_id, 400)
    long = write_costs(session, user, board_id)
    for name, seen in short.items():
        assert len(long[name]) == len(seen), name
        # No statement writes other rows of the column (the old renumbering did).
        for statement in seen + long[name]:
            if statement.startswith("UPDATE tasks"):
                assert re.search(r"WHERE tasks\.id = \S+ AND tasks\.version = ", statement)


def test_positions_stay_dense_through_random_moves(ctx):
    """Compare the service with a plain list after each of many random operations."""
    session, user, board_id = ctx
    rng = random.Random(8)
    model = {status: [] for status in ("pending", "in_progress", "completed")}
    model["pending"].append("first")
    for i in range(60):
        status = rng.choice(list(model))
        pick = rng.random()
        if pick < 0.3 or not any(model.values()):
            title = f"n{i}"
            task_service.create_task(
                session=session, user=user, task_in=TaskCreate(title=title, status=status)
            )
            model[status].append(title)
            continue
        source = rng.choice([s for s in model if model[s]])
        title = rng.choice(model[source])
        task = session.scalar(select(Task).where(Task.title == title))
        if pick < 0.85:
            model[source].remove(title)
            position = rng.choice([None, 0, rng.randrange(len(model[status]) + 2)])
            task_service.move_task(
                session=session, task=task, move=TaskMove(status=status, position=position)
            )
            index = len(model[status]) if position is None else min(position, len(model[status]))
            model[status].insert(index, title)
        else:
            model[source].remove(title)
            task_service.delete_task(session=session, task=task)
        for name, titles in model.items():
            assert column(session, user, board_id, name) == titles, (i, name)


def test_a_full_gap_is_rebalanced_without_changing_order_or_versions(ctx):
    session, user, board_id = ctx
    task_service.create_task(session=session, user=user, task_in=TaskCreate(title="last"))
    expected = ["first", "last"]
    for i in range(40):  # each lands just below "first": the gap halves every time
        task_service.create_task(
            session=session, user=user, task_in=TaskCreate(title=f"in{i}"), position=1
        )
        expected.insert(1, f"in{i}")
    assert column(session, user, board_id) == expected
    ranks = session.scalars(select(Task.rank).order_by(Task.rank)).all()
    assert min(b - a for a, b in zip(ranks, ranks[1:], strict=False)) > 1  # room again
    versions = session.scalars(select(Task.version)).all()
    assert set(versions) == {1}


def test_undo_puts_a_task_back_at_its_place(ctx):
    session, user, board_id = ctx
    for title in ("b", "c"):
        task_service.create_task(session=session, user=user, task_in=TaskCreate(title=title))
    saved = task_service.delete_task(
        session=session, task=session.scalar(select(Task).where(Task.title == "b"))
    )
    task_service.restore_task(session=session, user=user, saved=saved)
    assert column(session, user, board_id) == ["first", "b", "c"]
    del saved["rank"]  # an undo token made before ranks existed: the task goes last
    saved["created_at"] = "2020-01-01T00:00:00+00:00"
    task_service.restore_task(session=session, user=user, saved=saved)
    assert column(session, user, board_id) == ["first", "b", "c", "b"]


def test_a_list_and_a_board_page_are_one_statement_each(ctx):
    session, user, board_id = ctx
    bulk(session, user, board_id, 30)
    with statements(session) as seen:
        tasks, total = task_views.list_tasks(session=session, user=user, limit=20)
    assert len(seen) == 1 and (len(tasks), total) == (20, 31)
    assert tasks[0].position == 0 and tasks[19].position == 19
    board = session.get(Board, board_id)
    with statements(session) as seen:
        shown = task_views.board_columns(session=session, user=user, board=board)
    assert len(seen) == 1 and shown["totals"]["pending"] == 31


def test_migration_keeps_the_order_of_existing_tasks(tmp_path):
    url = f"sqlite:///{tmp_path / 'order.db'}"
    config = alembic_config(url)
    previous = ScriptDirectory.from_config(config).get_revision("0006").down_revision
    command.upgrade(config, previous)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            # SQLite without PRAGMA foreign_keys: tasks alone, no user or board rows.
            for task_id, status, position in [
                (1, "pending", 1),
                (2, "pending", 0),
                (3, "completed", 0),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO tasks (id, board_id, owner_id, title, description, priority,"
                        " status, position, created_at, updated_at, version) VALUES (:id, 1, 1,"
                        " 't', '', 'medium', :status, :position, '2026-01-01', '2026-01-01', 1)"
                    ),
                    {"id": task_id, "status": status, "position": position},
                )
        command.upgrade(config, "0006")
        with engine.connect() as conn:
            order = conn.execute(text("SELECT id FROM tasks ORDER BY status, rank, id")).scalars()
            assert list(order) == [3, 2, 1]
        command.downgrade(config, previous)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, position FROM tasks ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [(1, 1), (2, 0), (3, 0)]
    finally:
        engine.dispose()
