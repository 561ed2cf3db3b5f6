"""The task and board services: positions, versions, cascades, filters and validation."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.utils.auth import create_user
from webapp.db import get_session
from webapp.errors import NotFound, ValidationFailed
from webapp.models import Board, Task, TaskLabel, User
from webapp.services import boards as board_service
from webapp.services import task_views
from webapp.services import tasks as task_service
from webapp.services import users as user_service
from webapp.services.board_inputs import (
    BoardCreate,
    TaskCreate,
    TaskMove,
    TaskUpdate,
    parse,
    split_labels,
)


@pytest.fixture
def ctx(app):
    """An app context, its session and a user 'alice' (who has her default board)."""
    user_id = create_user(app, "alice")
    with app.app_context():
        session = get_session()
        yield session, session.get(User, user_id)


def positions(session, board_id, status):
    """``[(title, position)]`` of a column, as clients see it."""
    tasks, _ = task_views.list_tasks(
        session=session, user=session.get(Board, board_id).owner, board_id=board_id,
        statuses=[status],
    )  # fmt: skip
    return [(task.title, task.position) for task in tasks]


def titles(session, board_id, status):
    return [title for title, _ in positions(session, board_id, status)]


# The services take validated input models; these build them as the routes do (``parse``
# answers ValidationFailed with the fields, as the services did before).


def create(session, user, position=None, **fields):
    """The new task as an ORM object (the service answers with its view)."""
    task_in = parse(TaskCreate, fields)
    shown = task_service.create_task(session=session, user=user, task_in=task_in, position=position)
    return session.get(Task, shown.id)


def update(session, user, task, expected_version=None, **changes):
    return task_service.update_task(
        session=session,
        user=user,
        task=task,
        changes=parse(TaskUpdate, changes),
        expected_version=expected_version,
    )


def move(session, task, before_id=None, **fields):
    return task_service.move_task(
        session=session, task=task, move=parse(TaskMove, fields), before_id=before_id
    )


def new_board(session, user, name):
    board_in = parse(BoardCreate, {"name": name})
    return board_service.create_board(session=session, user=user, board_in=board_in)


def make(session, user, *names, **kwargs):
    return [create(session, user, title=n, **kwargs) for n in names]


def test_default_board_is_made_once_on_first_need(ctx):
    session, user = ctx
    first = board_service.default_board(session=session, user=user)
    assert board_service.default_board(session=session, user=user).id == first.id
    boards = board_service.list_boards(session=session, user=user)
    assert [b.name for b in boards] == [board_service.DEFAULT_BOARD_NAME]


def test_user_without_board_gets_one_lazily(ctx):
    session, user = ctx
    for board in board_service.list_boards(session=session, user=user):
        board_service.delete_board(session=session, board=board)
    task = create(session, user, title="Learn Flask")
    assert board_service.count_boards(session=session, user=user) == 1
    assert task.board_id == board_service.default_board(session=session, user=user).id


def test_create_appends_and_inserts(ctx):
    session, user = ctx
    a, b = make(session, user, "a", "b")
    create(session, user, title="top", position=0)
    create(session, user, title="far", position=99)
    assert positions(session, a.board_id, "pending") == [("top", 0), ("a", 1), ("b", 2), ("far", 3)]
    assert b.version == 1


def test_move_within_and_across_columns_keeps_positions_dense(ctx):
    session, user = ctx
    a, b, c, d = make(session, user, "a", "b", "c", "d")
    move(session, d, position=0)
    assert titles(session, a.board_id, "pending") == ["d", "a", "b", "c"]
    move(session, a, status="completed", position=5)
    assert positions(session, a.board_id, "pending") == [("d", 0), ("b", 1), ("c", 2)]
    assert positions(session, a.board_id, "completed") == [("a", 0)]
    move(session, b, status="completed", position=0)
    assert titles(session, a.board_id, "completed") == ["b", "a"]
    move(session, c, status="completed", before_id=a.id)
    assert positions(session, a.board_id, "completed") == [("b", 0), ("c", 1), ("a", 2)]


def test_move_validates(ctx):
    session, user = ctx
    (a,) = make(session, user, "a")
    with pytest.raises(ValidationFailed) as info:
        move(session, a, status="done")
    assert info.value.details[0]["field"] == "status"
    with pytest.raises(ValidationFailed):
        move(session, a, position=-1)


def test_completed_at_set_and_cleared(ctx):
    session, user = ctx
    (a,) = make(session, user, "a")
    assert a.completed_at is None and not a.is_completed
    move(session, a, status="completed")
    assert a.completed_at is not None and a.is_completed
    update(session, user, a, status="in_progress")
    assert a.completed_at is None


def test_status_change_by_update_goes_last_and_renumbers(ctx):
    session, user = ctx
    a, b, c = make(session, user, "a", "b", "c")
    (x,) = make(session, user, "x", status="completed")
    update(session, user, a, status="completed")
    assert positions(session, a.board_id, "pending") == [("b", 0), ("c", 1)]
    assert positions(session, a.board_id, "completed") == [("x", 0), ("a", 1)]


def test_update_to_another_board(ctx):
    session, user = ctx
    a, b = make(session, user, "a", "b")
    other = new_board(session, user, "Other")
    update(session, user, a, board_id=other.id)
    assert positions(session, other.id, "pending") == [("a", 0)]
    assert positions(session, b.board_id, "pending") == [("b", 0)]


def test_versions_and_conflicts(ctx):
    session, user = ctx
    (a,) = make(session, user, "a")
    update(session, user, a, title="a2", expected_version=1)
    assert a.version == 2
    update(session, user, a, labels=["new"])
    assert a.version == 3  # a labels-only change is a change too
    update(session, user, a, title="a2")
    assert a.version == 3  # nothing changed, nothing written
    with pytest.raises(task_service.VersionConflict) as info:
        update(session, user, a, title="x", expected_version=2)
    assert info.value.status == 412 and info.value.task.version == 3
    session.expire_all()
    assert session.get(Task, a.id).title == "a2"


def test_a_move_writes_only_the_moved_task(ctx):
    session, user = ctx
    a, b = make(session, user, "a", "b")
    rank = a.rank
    move(session, b, position=0)
    session.expire_all()
    shown = task_views.view(session=session, task_id=a.id)
    assert (shown.position, shown.version, session.get(Task, a.id).rank) == (1, 1, rank)
    assert session.get(Task, b.id).version == 2


def test_concurrent_writers_lose_no_update(app, ctx):
    """Two sessions read version 1; the second to commit gets a conflict, not a silent win."""
    session, user = ctx
    (a,) = make(session, user, "a")
    other_session = app.extensions["db_sessionmaker"]()
    try:
        other_user = other_session.get(User, user.id)
        other_task = other_session.get(Task, a.id)
        update(session, user, a, title="first")
        with pytest.raises(task_service.VersionConflict):
            update(other_session, other_user, other_task, title="second", expected_version=1)
    finally:
        other_session.close()
    session.expire_all()
    assert session.get(Task, a.id).title == "first"


def test_delete_renumbers_and_restore_puts_back(ctx):
    session, user = ctx
    a, b, c = make(session, user, "a", "b", "c", labels=["x"])
    saved = task_service.delete_task(session=session, task=b)
    assert positions(session, a.board_id, "pending") == [("a", 0), ("c", 1)]
    restored = task_service.restore_task(session=session, user=user, saved=saved)
    assert positions(session, a.board_id, "pending") == [("a", 0), ("b", 1), ("c", 2)]
    assert restored.labels == ["x"] and restored.version == 1
    again = task_service.restore_task(session=session, user=user, saved=saved)
    assert again.id == restored.id
    assert len(positions(session, a.board_id, "pending")) == 3


def test_restore_refuses_another_users_snapshot(app, ctx):
    session, user = ctx
    (a,) = make(session, user, "a")
    saved = task_service.delete_task(session=session, task=a)
    mallory = session.get(User, create_user(app, "mallory"))
    with pytest.raises(NotFound):
        task_service.restore_task(session=session, user=mallory, saved=saved)


def test_deleting_board_or_user_leaves_no_orphans(app, ctx):
    session, user = ctx
    make(session, user, "a", "b", labels=["x"])
    other = new_board(session, user, "Other")
    make(session, user, "c", board_id=other.id)
    board_service.delete_board(session=session, board=other)
    assert session.scalar(select(func.count(Task.id))) == 2
    user_service.delete_user(session=session, user=user)
    for model in (Board, Task, TaskLabel):
        assert session.scalar(select(func.count()).select_from(model)) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "x" * 10_001}, "description"),
        ({"title": "ok", "priority": "critical"}, "priority"),
        ({"title": "ok", "status": "done"}, "status"),
        ({"title": "ok", "due_date": "2026-02-30"}, "due_date"),
        ({"title": "ok", "labels": ["x" * 31]}, "labels"),
        ({"title": "ok", "labels": [f"l{i}" for i in range(11)]}, "labels"),
        ({"title": "ok", "board_id": 99999}, "board_id"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(ctx, fields, field):
    session, user = ctx
    with pytest.raises(ValidationFailed) as info:
        create(session, user, **fields)
    assert field in [d["field"] for d in info.value.details]
    session.rollback()
    assert session.scalar(select(func.count(Task.id))) == 0


def test_labels_are_cleaned(ctx):
    session, user = ctx
    (a,) = make(session, user, "a", labels=split_labels("  Bug, bug ,  two  words,"))
    assert a.labels == ["Bug", "two words"]
    update(session, user, a, labels=["bug", "Bug"])
    assert a.labels == ["bug"]


def test_list_filters_and_sorts(ctx):
    session, user = ctx
    today = task_views.today()
    make(session, user, "late", due_date=today - timedelta(days=1), priority="low", labels=["Work"])
    make(session, user, "done late", due_date=today - timedelta(days=3), status="completed")
    make(session, user, "soon", due_date=today + timedelta(days=1), priority="urgent")
    make(session, user, "100% sure", description="has a_percent", priority="high")

    def names(**filters):
        tasks, total = task_views.list_tasks(session=session, user=user, **filters)
        assert total == len(tasks)
        return [t.title for t in tasks]

    assert names(overdue=True) == ["late"]
    assert set(names(overdue=False)) == {"done late", "soon", "100% sure"}
    assert names(label="work") == ["late"]
    assert names(q="100%") == ["100% sure"]
    assert names(q="A_P") == ["100% sure"]  # case-insensitive, "_" is literal
    assert names(q="%") == ["100% sure"]
    assert names(priorities=["urgent", "high"], sort="priority") == ["soon", "100% sure"]
    assert names(sort="due_date") == ["done late", "late", "soon", "100% sure"]
    assert names(sort="-due_date")[-1] == "100% sure"  # no due date: last either way
    assert names(due_before=today, due_after=today - timedelta(days=1)) == ["late"]
    assert names(statuses=["completed"]) == ["done late"]
    page, total = task_views.list_tasks(session=session, user=user, limit=2, offset=1)
    assert (len(page), total) == (2, 4)


def test_list_other_users_board_is_unknown(app, ctx):
    session, user = ctx
    mallory = session.get(User, create_user(app, "mallory"))
    theirs = board_service.default_board(session=session, user=mallory)
    with pytest.raises(ValidationFailed):
        task_views.list_tasks(session=session, user=user, board_id=theirs.id)


def test_fingerprint_changes_with_the_board(ctx):
    session, user = ctx
    board = board_service.default_board(session=session, user=user)
    first = board_service.fingerprint(session=session, board=board)
    assert board_service.fingerprint(session=session, board=board) == first
    a, b = make(session, user, "a", "b")
    second = board_service.fingerprint(session=session, board=board)
    move(session, b, position=0)
    assert len({first, second, board_service.fingerprint(session=session, board=board)}) == 3


def test_board_validation(ctx):
    session, user = ctx
    with pytest.raises(ValidationFailed):
        new_board(session, user, " ")
    with pytest.raises(ValidationFailed):
        new_board(session, user, "x" * 101)
    board = new_board(session, user, "  Two   words ")
    assert board.name == "Two words"
    assert isinstance(task_views.today(), date)


# -- a write that lost a race --------------------------------------------------------------


def _changed_elsewhere(app, task_id: int, title: str) -> None:
    """Another request (its own session) saves the task meanwhile."""
    with app.app_context():
        other = get_session()
        task = other.get(Task, task_id)
        update(other, task.owner, task, title=title)


def test_an_unconditional_move_that_lost_a_race_is_done_on_the_fresh_task(app, ctx):
    """Last writer wins when the caller sent no version: no 409 it did not ask for (eight
    clients moving tasks at once got 93 of 320 conflicts before)."""
    session, user = ctx
    first, second = make(session, user, "first", "second")
    session.commit()  # our copy of `second` is now at its version of this moment
    _changed_elsewhere(app, second.id, "second, renamed elsewhere")
    shown = move(session, second, position=0)
    assert shown.position == 0 and shown.title == "second, renamed elsewhere"
    assert titles(session, second.board_id, "pending") == ["second, renamed elsewhere", "first"]


def test_a_conditional_write_that_lost_a_race_still_answers_the_conflict(app, ctx):
    session, user = ctx
    (task,) = make(session, user, "mine")
    seen = task.version
    session.commit()
    _changed_elsewhere(app, task.id, "theirs")
    with pytest.raises(task_service.VersionConflict):
        update(session, user, task, expected_version=seen, title="mine, edited")


def test_every_task_statement_selects_the_view_fields_in_order():
    """``_view`` unpacks rows by place: each statement's first columns must be TaskView's
    fields in TaskView's order, or tasks would show one field's value under another."""
    fields = [f.name for f in dataclasses.fields(task_views.TaskView)]
    statements = [task_views.VIEW, task_views.BOARD, *task_views.LISTS.values()]
    for statement in statements:
        names = [column.key for column in statement.selected_columns]
        assert names[: task_views.SHOWN_WIDTH] == fields
    assert len(fields) == task_views.SHOWN_WIDTH


def test_a_listed_task_shows_every_field_as_saved(ctx):
    session, user = ctx
    due = date.today() + timedelta(days=3)
    (created,) = make(session, user, "T", description="D", priority="high", labels=["b", "a"])
    update(session, user, session.get(Task, created.id), due_date=due)
    listed = task_views.list_tasks(session=session, user=user)[0][-1]
    one = task_views.view(session=session, task_id=created.id)
    board = session.get(Board, created.board_id)
    [on_board] = [
        t
        for t in task_views.board_columns(session=session, user=user, board=board)["columns"][
            created.status
        ]
        if t.id == created.id
    ]
    for shown in (listed, one, on_board):
        assert (shown.title, shown.description, shown.priority) == ("T", "D", "high")
        assert shown.labels == ["b", "a"]
        assert shown.due_date == due
        assert shown.owner_id == user.id and shown.board_id == created.board_id
        assert shown.version == 2 and shown.completed_at is None
        assert shown.created_at <= shown.updated_at


def test_a_new_task_row_is_complete(ctx):
    """Creates are plain INSERTs: the row must hold what the ORM would have written."""
    session, user = ctx
    (done,) = make(session, user, "d", status="completed", labels=["z", "a"])
    (plain,) = make(session, user, "p")
    for shown in (done, plain):
        row = session.get(Task, shown.id)
        assert row.version == 1 and row.owner_id == user.id
        assert row.created_at is not None and row.updated_at is not None
        assert row.rank > 0 and row.description == "" and row.priority == "medium"
    assert session.get(Task, done.id).completed_at is not None
    assert session.get(Task, plain.id).completed_at is None
    assert [label.name for label in session.get(Task, done.id).label_rows] == ["z", "a"]
    update(session, user, session.get(Task, plain.id), title="changed")  # the version check
    assert session.get(Task, plain.id).version == 2
