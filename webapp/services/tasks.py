"""Tasks: create, edit, move, delete, restore and list.

Order. A column is the tasks of one (board, status), ordered by ``Task.rank``: a 64-bit
integer with gaps (ties, from two appends at the same moment, fall back to the id). A write
touches only the task it changes: appending takes the column's largest rank plus ``GAP``
(one index lookup, inside the INSERT or UPDATE itself), and putting a task between two
others takes the midpoint of their ranks. Only when two neighbours have no integer left
between them (after 32 insertions at one spot) is the column renumbered (``_rebalance``),
in a transaction of its own. So creating, moving and completing a task cost the same on a
column of 10 tasks and of 10,000 (``bench/web.py --sizes`` shows the curve); before, every
write renumbered the column in one UPDATE (11 ms at 20 tasks, 890 ms at 5,000).

Clients still see ``position``, the 0-based place in the column, computed when read (a
count over the column's index for one task, a window function for a board), so the API's
contract (dense positions, "move to position 2") did not change.

Locks. A write that computes a rank first takes a KEY SHARE lock on the board row, which
does not block other writers (nor renaming the board); a rebalance takes the row FOR
UPDATE, so no rank is computed from numbers it is changing. SQLite runs one writer at a
time anyway.

Versions. ``Task.version`` is SQLAlchemy's optimistic lock: callers pass
``expected_version`` (the version the user saw) and get ``VersionConflict`` when the task
changed meanwhile. A move changes only the moved task: the others keep their version and
their ETag, though their position as clients see it may shift (so the API's ETags are weak).

Reads. Lists, boards and write responses are column-level selects into ``TaskView`` (labels
aggregated in the same statement), not ORM objects: one statement per list, no relationship
loading; writes use the ORM for its version check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    and_,
    bindparam,
    case,
    exists,
    func,
    not_,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from webapp.db import utcnow
from webapp.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed, field_error
from webapp.models import Board, Task, TaskLabel, User
from webapp.models.board import PRIORITIES, STATUSES
from webapp.services import boards as board_service
from webapp.services.board_inputs import TaskCreate, TaskMove, TaskUpdate
from webapp.services.ownership import get_owned

DUE_SOON_DAYS = 2
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(reversed(PRIORITIES))}
# The one list of sort orders; the API's ``sort`` parameter is a Literal of it.
SORTS = (
    "position",
    "-position",
    "created_at",
    "-created_at",
    "due_date",
    "-due_date",
    "priority",
    "-priority",
)
# Room for 32 halvings between two neighbours, and for 2**31 appends to one column.
GAP = 2**32
LABEL_SEPARATOR = ","  # labels cannot contain commas (board_inputs.Label)


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


def today() -> date:
    return utcnow().date()


# -- reading -------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class TaskView:
    """A task as pages and the API show it (``TaskPublic`` reads these attributes)."""

    id: int
    board_id: int
    owner_id: int
    title: str
    description: str
    priority: str
    status: str
    labels: list[str]
    due_date: date | None
    position: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"


_ordered_labels = (
    select(TaskLabel.name)
    .where(TaskLabel.task_id == Task.id)
    .order_by(TaskLabel.position)
    .correlate(Task)
    .subquery()
)
# One string per task, in the order the user gave them: no second round trip for labels.
LABELS = (
    select(func.aggregate_strings(_ordered_labels.c.name, LABEL_SEPARATOR))
    .scalar_subquery()
    .label("labels")
)
FIELDS = (
    Task.id,
    Task.board_id,
    Task.owner_id,
    Task.title,
    Task.description,
    Task.priority,
    Task.status,
    Task.due_date,
    Task.created_at,
    Task.updated_at,
    Task.completed_at,
    Task.version,
)


_earlier = Task.__table__.alias("earlier")
# How many tasks come before this one in its column (an index-only count).
POSITION = (
    select(func.count())
    .where(
        _earlier.c.board_id == Task.board_id,
        _earlier.c.status == Task.status,
        tuple_(_earlier.c.rank, _earlier.c.id) < tuple_(Task.rank, Task.id),
    )
    .scalar_subquery()
    .label("position")
)
# Built once: constructing these selects cost ~0.8 ms per request (profiled); the
# statements below only add their WHERE, ORDER BY and LIMIT, and SQLAlchemy's compiled
# cache does the rest.
VIEW = select(*FIELDS, LABELS, POSITION).where(Task.id == bindparam("task_id"))
_LIST = select(*FIELDS, LABELS, POSITION, func.count().over().label("total")).where(
    Task.owner_id == bindparam("owner_id")
)
_window = {"partition_by": Task.status, "order_by": (Task.rank, Task.id)}
_board = (
    select(
        *FIELDS,
        LABELS,
        (func.row_number().over(**_window) - 1).label("position"),
        func.count().over(partition_by=Task.status).label("column_size"),
        Task.rank,
    )
    .where(Task.board_id == bindparam("board_id"))
    .subquery()
)
BOARD = select(_board).order_by(_board.c.rank, _board.c.id)


def _rows(session: Session, statement, **params):
    """Run a column-level select on the session's connection: Core, without the ORM's
    execution machinery (0.26 ms instead of 0.87 ms for one task, profiled)."""
    return session.connection().execute(statement, params)


def _view(row) -> TaskView:
    labels = row.labels.split(LABEL_SEPARATOR) if row.labels else []
    return TaskView(
        row.id,
        row.board_id,
        row.owner_id,
        row.title,
        row.description,
        row.priority,
        row.status,
        labels,
        row.due_date,
        row.position,
        row.created_at,
        row.updated_at,
        row.completed_at,
        row.version,
    )


def view(*, session: Session, task_id: int) -> TaskView:
    """The task as shown (after ``owned`` checked it is the user's, or after a write)."""
    row = _rows(session, VIEW, task_id=task_id).one_or_none()
    if row is None:
        raise NotFound("Task not found.")
    return _view(row)


def _board_ref(session: Session, user: User, board_id: int | None) -> int:
    """The id of the board a task should go to, locked against a rebalance: the given one
    (422 if it is not the user's) or the default board."""
    if board_id is None:
        board_id = board_service.default_board(session=session, user=user).id
    # One statement checks that it is the user's and locks it (see the module docstring).
    locked = _lock_board(session, board_id, owner_id=user.id)
    if locked is None:
        raise _unknown_board(board_id)
    return locked


def _unknown_board(board_id: int) -> ValidationFailed:
    return ValidationFailed(
        "Unknown board.",
        details=[field_error("board_id", f"Board {board_id} does not exist.", "not_found")],
    )


def _filters(
    session: Session,
    user: User,
    *,
    board_id: int | None = None,
    statuses: Iterable[str] | None = None,
    priorities: Iterable[str] | None = None,
    label: str | None = None,
    q: str | None = None,
    due_before: date | None = None,
    due_after: date | None = None,
    overdue: bool | None = None,
) -> list:
    """The conditions of a list or board beyond "owned by the user" (the statements have
    that one built in)."""
    where = []
    if board_id is not None:
        try:
            get_owned(session, Board, board_id, user)
        except NotFound:
            raise _unknown_board(board_id) from None
        where.append(Task.board_id == board_id)
    if statuses:
        where.append(Task.status.in_(list(statuses)))
    if priorities:
        where.append(Task.priority.in_(list(priorities)))
    label, q = (text.replace("\x00", "") if text else text for text in (label, q))
    if label and label.strip():
        where.append(
            exists().where(
                TaskLabel.task_id == Task.id,
                func.lower(TaskLabel.name) == " ".join(label.split()).lower(),
            )
        )
    if q and q.strip():
        needle = q.strip().lower()
        where.append(
            or_(
                func.lower(Task.title).contains(needle, autoescape=True),
                func.lower(Task.description).contains(needle, autoescape=True),
            )
        )
    if due_before is not None:
        where.append(Task.due_date <= due_before)
    if due_after is not None:
        where.append(Task.due_date >= due_after)
    if overdue is not None:
        is_overdue = and_(
            Task.due_date.is_not(None), Task.due_date < today(), Task.status != "completed"
        )
        where.append(is_overdue if overdue else not_(is_overdue))
    return where


def list_tasks(
    *,
    session: Session,
    user: User,
    sort: str = "position",
    limit: int | None = None,
    offset: int = 0,
    **filters,
) -> tuple[list[TaskView], int]:
    """The user's tasks matching every given filter (see ``_filters``), sorted; returns
    ``(page, total)``. ``due_before``/``due_after`` include the day itself; ``overdue``
    means due before today and not completed.

    One statement: the total is a window count over the matching rows, so it costs a
    second statement only for a page past the end.
    """
    if sort not in SORTS:
        raise ValidationFailed(
            "Unknown sort order.",
            details=[field_error("sort", f"Sort must be one of: {', '.join(SORTS)}.")],
        )
    where = _filters(session, user, **filters)
    query = LISTS[sort, limit is not None]
    if where:
        query = query.where(*where)
    rows = _rows(session, query, owner_id=user.id, limit=limit, offset=offset).all()
    if rows:
        return [_view(row) for row in rows], rows[0].total
    if not offset:
        return [], 0
    count = select(func.count(Task.id)).where(Task.owner_id == user.id, *where)
    return [], session.scalar(count)


def _order(sort: str) -> tuple:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "priority":
        rank = case(PRIORITY_RANK, value=Task.priority)
        columns = [rank.desc() if descending else rank]  # "priority": most urgent first
    elif key == "due_date":
        # Tasks without a due date come last either way.
        columns = [
            Task.due_date.is_(None),
            Task.due_date.desc() if descending else Task.due_date,
        ]
    elif key == "position":
        status_rank = case({s: i for i, s in enumerate(STATUSES)}, value=Task.status)
        columns = [Task.board_id, status_rank, Task.rank]
        if descending:
            columns = [c.desc() for c in columns]
    else:
        columns = [Task.created_at.desc() if descending else Task.created_at]
    return (*columns, Task.id.desc() if descending else Task.id)


# The list statements are built once per sort order (and with or without a limit); a
# request adds only its filters, if any.
LISTS = {
    (sort, limited): (
        _LIST.order_by(*_order(sort))
        .offset(bindparam("offset"))
        .limit(bindparam("limit") if limited else None)
    )
    for sort in SORTS
    for limited in (True, False)
}


def board_columns(*, session: Session, user: User, board: Board, **filters) -> dict:
    """What a board page shows: ``columns`` ({status: [TaskView in order]}), ``totals``
    ({status: n}, ignoring the filters), the board's ``labels`` and its ``fingerprint``.
    One statement without filters (the rest is computed from the rows); with filters,
    positions are still counted over whole columns."""
    where = _filters(session, user, **filters)
    filtered = bool(where)
    query = BOARD
    if filtered:
        query = query.where(
            _board.c.id.in_(select(Task.id).where(Task.board_id == board.id, *where))
        )
    rows = _rows(session, query, board_id=board.id).all()
    columns = {status: [] for status in STATUSES}
    totals = dict.fromkeys(STATUSES, 0)
    for row in rows:
        columns[row.status].append(_view(row))
        totals[row.status] = row.column_size
    if filtered:
        totals = board_service.task_counts(session=session, board_ids=[board.id])[board.id]
        labels = session.scalars(
            select(TaskLabel.name).join(Task).where(Task.board_id == board.id).distinct()
        )
        stamp = board_service.fingerprint(session=session, board=board)
    else:
        views = [view for tasks in columns.values() for view in tasks]
        labels = {label for view in views for label in view.labels}
        latest = max((view.updated_at for view in views), default=None)
        versions = sum(view.version for view in views)
        stamp = board_service.digest(board, len(views), latest, versions)
    return {
        "columns": columns,
        "totals": totals,
        "labels": sorted(set(labels), key=str.lower),
        "fingerprint": stamp,
    }


# -- ranks ---------------------------------------------------------------------------------


def _lock_board(session: Session, board_id: int, *, owner_id=None, exclusive=False):
    """Lock the board row (KEY SHARE, or FOR UPDATE when ``exclusive``); returns its id,
    or None when it does not exist (or is not ``owner_id``'s)."""
    query = select(Board.id).where(Board.id == board_id)
    if owner_id is not None:
        query = query.where(Board.owner_id == owner_id)
    return session.scalar(query.with_for_update(key_share=not exclusive))


def _last_rank(board_id: int, status: str):
    """SQL for "after the last task of the column", evaluated inside the INSERT/UPDATE."""
    column = Task.__table__.alias("column_tasks")
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
    column = [Task.board_id == board_id, Task.status == status]
    if task_id is not None:
        column.append(Task.id != task_id)
    key = (Task.rank, Task.id)
    if before_id is not None:
        anchor = session.execute(select(*key).where(*column, Task.id == before_id)).first()
        if anchor is not None:
            before = session.execute(
                select(*key)
                .where(*column, tuple_(*key) < tuple_(*anchor))
                .order_by(Task.rank.desc(), Task.id.desc())
                .limit(1)
            ).first()
            return before, anchor
    if position is None:
        last = session.execute(
            select(*key).where(*column).order_by(Task.rank.desc(), Task.id.desc()).limit(1)
        ).first()
        return last, None
    rows = session.execute(
        select(*key).where(*column).order_by(*key).offset(max(position - 1, 0)).limit(2)
    ).all()
    if position == 0:
        return None, rows[0] if rows else None
    if not rows:  # past the end
        return _neighbours(session, board_id, status, task_id)
    return rows[0], rows[1] if len(rows) > 1 else None


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


def _save(session: Session, task: Task, expected_version: int | None, *, new=False, show=True):
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
        if new or expected_version is None:
            raise Conflict(
                "The task was changed or deleted at the same time; please retry."
            ) from None
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


def _insert(session: Session, user: User, board_id: int, task_in: TaskCreate, **extra) -> TaskView:
    fields = task_in.model_dump(exclude={"board_id", "labels"})
    task = Task(board_id=board_id, owner_id=user.id, **fields)
    rank = extra.pop("rank", None)
    task.rank = _last_rank(board_id, task.status) if rank is None else rank
    if task.status == "completed":
        task.completed_at = utcnow()
    for key, value in extra.items():
        setattr(task, key, value)
    if task_in.labels:
        _set_labels(task, task_in.labels)
    session.add(task)
    return _save(session, task, None, new=True)


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
