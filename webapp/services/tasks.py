"""Tasks: create, edit, move, delete and restore (reading them is ``services.task_views``).

Order. A column is the tasks of one (board, status), ordered by ``Task.rank``: a 64-bit
integer with gaps (ties, from two appends at the same moment, fall back to the id). A write
touches only the task it changes: appending takes the column's largest rank plus ``GAP``
(one index lookup, inside the INSERT or UPDATE itself), and putting a task between two
others takes the midpoint of their ranks. Only when two neighbours have no integer left
between them (after 32 insertions at one spot) is the column renumbered (``_rebalance``),
in a transaction of its own. So creating, moving and completing a task write one row on a
column of 10 tasks and of 10,000 (``bench/web.py --sizes`` shows the curve); before, every
write renumbered the column in one UPDATE (11 ms at 20 tasks, 890 ms at 5,000).

Clients still see ``position``, the 0-based place in the column, computed when read (a
count over the column's index for one task, a window function for a board), so the API's
contract (dense positions, "move to position 2") did not change. That count is the one
cost that grows with the column: answering a task appended to 10,000 others counts them
(1.8 ms of PostgreSQL time, against 0.17 ms at 10; bench/README.md).

Locks. A write that computes a rank first takes a KEY SHARE lock on the board row, which
does not block other writers (nor renaming the board); a rebalance takes the row FOR
UPDATE, so no rank is computed from numbers it is changing. SQLite runs one writer at a
time anyway.

Versions. ``Task.version`` is SQLAlchemy's optimistic lock: callers pass
``expected_version`` (the version the user saw) and get ``VersionConflict`` when the task
changed meanwhile. A move changes only the moved task: the others keep their version and
their ETag, though their position as clients see it may shift (so the API's ETags are weak).
A write without ``expected_version`` asked for no such check: when another writer changed
the task between our read and our write, it is done again on the fresh row (last writer
wins, ``_unconditional``) instead of answering a conflict the caller did not ask for.

Changes to a task use the ORM for its version check; a new task, with nothing to check,
is two plain INSERTs (the task, its labels). Every write answers with the task as shown
(``task_views.view``), read in the same transaction before the commit.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from webapp.db import utcnow
from webapp.errors import Conflict, NotFound, PreconditionFailed, field_error
from webapp.models import Board, Task, TaskLabel, User
from webapp.services import boards as board_service
from webapp.services.board_inputs import TaskCreate, TaskMove, TaskUpdate
from webapp.services.task_views import TaskView, unknown_board, view

# Room for 32 halvings between two neighbours, and for 2**31 appends to one column.
GAP = 2**32


class VersionConflict(PreconditionFailed):
    """The task changed since the caller read it; ``task`` holds the current state."""

    def __init__(self, task: Task):
        super().__init__(
            f"The task was changed by someone else (it is now at version {task.version}). "
            "Nothing was saved; fetch it again and reapply your change.",
            details=[
                field_error("version", f"Current version is {task.version}.", "version_conflict")
            ],
        )
        self.task = task


def _board_ref(session: Session, user: User, board_id: int | None) -> int:
    """The id of the board a task should go to, locked against a rebalance: the given one
    (422 if it is not the user's) or the default board."""
    if board_id is None:
        # The first board's id and its lock in one statement; a user without one gets one.
        first = board_service.first_board(user.id, Board.id).with_for_update(key_share=True)
        locked = session.scalar(first)
        if locked is not None:
            return locked
        board_id = board_service.default_board(session=session, user=user).id
    # One statement checks that it is the user's and locks it (see the module docstring).
    locked = _lock_board(session, board_id, owner_id=user.id)
    if locked is None:
        raise unknown_board(board_id)
    return locked


# -- ranks ---------------------------------------------------------------------------------


def _lock_board(session: Session, board_id: int, *, owner_id=None, exclusive=False):
    """Lock the board row (KEY SHARE, or FOR UPDATE when ``exclusive``); returns its id,
    or None when it does not exist (or is not ``owner_id``'s)."""
    params = {"board_id": board_id, "owner_id": owner_id}
    return session.scalar(_board_lock(owner_id is not None, exclusive), params)


@functools.cache
def _board_lock(owned: bool, exclusive: bool):
    # Built once for each of the four kinds: every task write takes one.
    query = select(Board.id).where(Board.id == bindparam("board_id"))
    if owned:
        query = query.where(Board.owner_id == bindparam("owner_id"))
    return query.with_for_update(key_share=not exclusive)


# Made once: a fresh alias per write spent a tenth of a task create's CPU building its
# column collection.
_COLUMN_TASKS = Task.__table__.alias("column_tasks")


def _last_rank(board_id, status):
    """SQL for "after the last task of the column", evaluated inside the INSERT/UPDATE
    (``board_id`` and ``status`` are values, or bind parameters for a statement built once)."""
    column = _COLUMN_TASKS
    return (
        select(func.coalesce(func.max(column.c.rank), 0) + GAP)
        .where(column.c.board_id == board_id, column.c.status == status)
        .scalar_subquery()
    )


class _NoRoom(Exception):
    """Two neighbours have no integer between their ranks: rebalance, then retry."""


def _rank_between(before, after) -> int:
    """A rank strictly between the ranks ``before`` and ``after`` (either may be None)."""
    if before is None and after is None:
        return GAP
    if before is None:
        return after - GAP
    if after is None:
        return before + GAP
    if after - before < 2:
        raise _NoRoom
    return (before + after) // 2


def _neighbours(session, board_id, status, task_id=None, *, position=None, before_id=None):
    """The ``(rank, id)`` rows just before and after the place a task goes to, with the
    task itself left out; ``None`` where the column ends. The cost is one index lookup for
    a neighbour's id or the end, and ``position`` index steps for a position."""
    column = {"board_id": board_id, "status": status, "task_id": task_id}
    others = task_id is not None

    def run(kind: str, **params):
        return session.connection().execute(_column_query(kind, others), {**column, **params})

    if before_id is not None:
        anchor = run("anchor", before_id=before_id).first()
        if anchor is not None:
            before = run("before", anchor_rank=anchor.rank, anchor_id=anchor.id).first()
            return before, anchor
    if position is None:
        return run("last").first(), None
    rows = run("from", offset=max(position - 1, 0)).all()
    if position == 0:
        return None, rows[0] if rows else None
    if not rows:  # past the end
        return _neighbours(session, board_id, status, task_id)
    return rows[0], rows[1] if len(rows) > 1 else None


@functools.cache
def _column_query(kind: str, others: bool):
    """The statements of ``_neighbours``, built once (``others``: leave ``task_id`` out)."""
    key = (Task.rank, Task.id)
    query = select(*key).where(
        Task.board_id == bindparam("board_id"), Task.status == bindparam("status")
    )
    if others:
        query = query.where(Task.id != bindparam("task_id"))
    if kind == "anchor":  # the task that should come after
        return query.where(Task.id == bindparam("before_id"))
    if kind == "before":  # the task just before the anchor
        anchor = tuple_(bindparam("anchor_rank"), bindparam("anchor_id"))
        return query.where(tuple_(*key) < anchor).order_by(*_descending(key)).limit(1)
    if kind == "last":
        return query.order_by(*_descending(key)).limit(1)
    return query.order_by(*key).offset(bindparam("offset")).limit(2)  # "from" a position


def _descending(columns) -> list:
    return [column.desc() for column in columns]


def _rebalance(session: Session, board_id: int, status: str) -> None:
    """Spread the column's ranks ``GAP`` apart again, keeping their order. A plain table
    UPDATE on purpose: the tasks' content did not change, so neither do their versions."""
    _lock_board(session, board_id, exclusive=True)
    table = Task.__table__
    numbered = (
        select(
            table.c.id,
            func.row_number().over(order_by=(table.c.rank, table.c.id)).label("n"),
        )
        .where(table.c.board_id == board_id, table.c.status == status)
        .subquery()
    )
    session.execute(
        update(table).where(table.c.id == numbered.c.id).values(rank=numbered.c.n * GAP)
    )
    session.commit()


# -- writes --------------------------------------------------------------------------------


def _set_status(task: Task, status: str) -> None:
    if status == task.status:
        return
    task.status = status
    # completed_at records when it became completed, and is cleared when it leaves.
    task.completed_at = utcnow() if status == "completed" else None


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and task.version != expected_version:
        raise VersionConflict(task)


class _LostRace(Exception):
    """An unconditional write met a newer version of its task: do it again on that one."""


ATTEMPTS = 3


def _unconditional(write):
    """Retry ``write`` on the fresh task when it lost a race it did not ask to know about
    (no ``expected_version``); conditional writes answer the conflict as before."""

    @functools.wraps(write)
    def retrying(*, session: Session, task: Task, **kwargs):
        for _attempt in range(ATTEMPTS):
            try:
                return write(session=session, task=task, **kwargs)
            except _LostRace:
                task = session.get(Task, task.id)  # rolled back: reloads the newer row
                if task is None:
                    raise NotFound("Task not found.") from None
        raise Conflict("The task was changed or deleted at the same time; please retry.")

    return retrying


def _save(session: Session, task: Task, expected_version: int | None, *, show=True):
    """Write the task's changes, read it back as shown (in the same transaction: two round
    trips fewer than after the commit) and commit. A concurrent writer that won the race
    (the version no longer matches) turns into a conflict, and nothing is saved."""
    try:
        session.flush()
        shown = view(session=session, task_id=task.id) if show else None
        session.commit()
        return shown
    except StaleDataError:
        session.rollback()
        if expected_version is None:
            raise _LostRace() from None
        current = session.get(Task, task.id)
        if current is None:
            raise NotFound("Task not found.") from None
        raise VersionConflict(current) from None


def _set_labels(task: Task, labels: list[str]) -> None:
    # Reuse rows whose name stays, so a delete and an insert of the same key never meet
    # in one flush.
    existing = {row.name: row for row in task.label_rows}
    rows = []
    for index, name in enumerate(labels):
        row = existing.get(name) or TaskLabel(name=name)
        row.position = index
        rows.append(row)
    task.label_rows = rows


def create_task(
    *, session: Session, user: User, task_in: TaskCreate, position: int | None = None
) -> TaskView:
    """Create a task on ``task_in.board_id`` (default: the user's default board), at
    ``position`` in its column (default and past the end: last)."""
    for _attempt in range(2):
        board_id = _board_ref(session, user, task_in.board_id)
        if position is None:
            return _insert(session, user, board_id, task_in)
        before, after = _neighbours(session, board_id, task_in.status, position=position)
        try:
            rank = _rank_between(before and before.rank, after and after.rank)
        except _NoRoom:
            session.rollback()
            _rebalance(session, board_id, task_in.status)
            continue
        return _insert(session, user, board_id, task_in, rank=rank)
    raise Conflict("The column is being reordered; please retry.")  # pragma: no cover


_NEW_TASK = insert(Task.__table__).returning(Task.__table__.c.id)
_NEW_LAST_TASK = _NEW_TASK.values(
    rank=_last_rank(bindparam("column_board"), bindparam("column_status"))
)
_NEW_LABELS = insert(TaskLabel.__table__)


def _insert(session: Session, user: User, board_id: int, task_in: TaskCreate, **extra) -> TaskView:
    """Insert the task and its labels with two plain statements, read it back as shown and
    commit. A new row has nothing to reconcile, so the ORM's unit of work (a fifth of a
    create's CPU, profiled) is left out; the columns' defaults still apply."""
    values = task_in.model_dump(exclude={"board_id", "labels"})
    values.update(board_id=board_id, owner_id=user.id, version=1)  # the ORM's first version
    if values["status"] == "completed":
        values["completed_at"] = utcnow()
    values.update(extra)
    statement = _NEW_TASK
    if values.get("rank") is None:
        statement = _NEW_LAST_TASK
        values.pop("rank", None)
        values.update(column_board=board_id, column_status=values["status"])
    task_id = session.connection().execute(statement, values).scalar_one()
    if task_in.labels:
        labels = [
            {"task_id": task_id, "name": name, "position": index}
            for index, name in enumerate(task_in.labels)
        ]
        session.connection().execute(_NEW_LABELS, labels)
    shown = view(session=session, task_id=task_id)
    session.commit()
    return shown


@_unconditional
def update_task(
    *,
    session: Session,
    user: User,
    task: Task,
    changes: TaskUpdate,
    expected_version: int | None = None,
) -> TaskView:
    """Change the fields given in ``changes``; a new status or board puts the task last in
    its new column."""
    _check_version(task, expected_version)
    fields = changes.changes()
    new_board = fields.pop("board_id", None)
    board_id = task.board_id if new_board is None else _board_ref(session, user, new_board)
    labels = fields.pop("labels", None)
    new_status = fields.pop("status", task.status)
    # Labels load lazily: read them before changing anything, or autoflush would write
    # the task twice (two versions for one save).
    changed = labels is not None and labels != task.labels
    changed = changed or any(getattr(task, key) != value for key, value in fields.items())
    moving = board_id != task.board_id or new_status != task.status
    if not changed and not moving:
        return view(session=session, task_id=task.id)
    if moving:
        if new_board is None:
            _lock_board(session, board_id)
        task.rank = _last_rank(board_id, new_status)
        task.board_id = board_id
        _set_status(task, new_status)
    for key, value in fields.items():
        setattr(task, key, value)
    if labels is not None:
        _set_labels(task, labels)
    task.updated_at = utcnow()  # also makes a labels-only change bump the version
    return _save(session, task, expected_version)


@_unconditional
def move_task(
    *,
    session: Session,
    task: Task,
    move: TaskMove,
    before_id: int | None = None,
    expected_version: int | None = None,
) -> TaskView:
    """Put the task at ``move.position`` of the ``move.status`` column of its board
    (default: last; past the end appends), or just above task ``before_id`` when that is
    in the column (drag and drop on a filtered board knows its neighbour, not the
    position). Only the task's own row changes."""
    _check_version(task, expected_version)
    status = task.status if move.status is None else move.status
    for _attempt in range(2):
        _lock_board(session, task.board_id)
        before, after = _neighbours(
            session,
            task.board_id,
            status,
            task.id,
            position=move.position,
            before_id=before_id,
        )
        here = (task.rank, task.id)
        after_before = before is None or tuple(before) < here
        if status == task.status and after_before and (after is None or here < tuple(after)):
            shown = view(session=session, task_id=task.id)
            session.commit()  # already there: nothing moves, the lock is released
            return shown
        try:
            rank = _rank_between(before and before.rank, after and after.rank)
            break
        except _NoRoom:
            session.rollback()
            _rebalance(session, task.board_id, status)
    else:  # pragma: no cover - a rebalanced column always has room
        raise Conflict("The column is being reordered; please retry.")
    _set_status(task, status)
    task.rank = rank
    task.updated_at = utcnow()
    return _save(session, task, expected_version)


def snapshot(task: Task) -> dict:
    """What ``restore_task`` needs to bring a deleted task back (JSON-safe)."""
    return {
        "board_id": task.board_id,
        "owner_id": task.owner_id,
        "title": task.title,
        "description": task.description,
        "priority": task.priority,
        "status": task.status,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "labels": task.labels,
        "rank": task.rank,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
    }


@_unconditional
def delete_task(*, session: Session, task: Task, expected_version: int | None = None) -> dict:
    """Delete the task (the others keep their ranks); returns its ``snapshot`` for an undo."""
    _check_version(task, expected_version)
    saved = snapshot(task)
    session.delete(task)
    _save(session, task, expected_version, show=False)
    return saved


def restore_task(*, session: Session, user: User, saved: dict) -> TaskView:
    """Recreate a deleted task from its ``snapshot`` (a new id, at its old rank)."""
    if saved.get("owner_id") != user.id:
        raise NotFound("Task not found.")
    board_id = _lock_board(session, saved["board_id"], owner_id=user.id)
    if board_id is None:
        raise NotFound("The board of this task no longer exists.")
    created_at = datetime.fromisoformat(saved["created_at"])
    # Undo twice (a double click, a replayed request) restores one task, not two.
    already = session.scalar(
        select(Task).where(
            Task.owner_id == user.id,
            Task.board_id == board_id,
            Task.created_at == created_at,
            Task.title == saved["title"],
        )
    )
    if already is not None:
        return view(session=session, task_id=already.id)
    # An undo token from before ranks existed has none: the task goes last.
    extra = {"created_at": created_at, "rank": saved.get("rank")}
    if saved["completed_at"]:
        extra["completed_at"] = datetime.fromisoformat(saved["completed_at"])
    return _insert(session, user, board_id, TaskCreate.model_validate(saved), **extra)
