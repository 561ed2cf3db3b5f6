"""Tasks: create, edit, move, delete, restore and list.

Positions are dense integers 0..n-1 per (board, status) column. Every write that changes a
column renumbers it in the same transaction, after locking the board row (PostgreSQL; SQLite
serialises writers anyway), so concurrent moves cannot leave gaps or duplicates.

``Task.version`` is SQLAlchemy's optimistic lock: callers pass ``expected_version`` (the
version the user saw) and get ``VersionConflict`` when the task changed meanwhile. Sibling
tasks that shift because another task moved keep their version: their content did not
change, and bumping it would turn every drag-and-drop into conflicts for other editors.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import and_, case, exists, func, not_, or_, select, update
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


# -- boards --------------------------------------------------------------------------------


def _board_ref(session: Session, user: User, board_id: int | None) -> Board:
    """The board a task should go to: the given one (422 if not the user's) or the default."""
    if board_id is None:
        return board_service.default_board(session=session, user=user)
    try:
        return get_owned(session, Board, board_id, user)
    except NotFound:
        raise ValidationFailed(
            "Unknown board.",
            details=[field_error("board_id", f"Board {board_id} does not exist.", "not_found")],
        ) from None


# -- lookups -------------------------------------------------------------------------------


def list_tasks(
    *,
    session: Session,
    user: User,
    board_id: int | None = None,
    statuses: Iterable[str] | None = None,
    priorities: Iterable[str] | None = None,
    label: str | None = None,
    q: str | None = None,
    due_before: date | None = None,
    due_after: date | None = None,
    overdue: bool | None = None,
    sort: str = "position",
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Task], int]:
    """The user's tasks matching every given filter, sorted; returns ``(page, total)``.

    ``due_before``/``due_after`` include the day itself; ``overdue`` means due before today
    and not completed.
    """
    if sort not in SORTS:
        raise ValidationFailed(
            "Unknown sort order.",
            details=[field_error("sort", f"Sort must be one of: {', '.join(SORTS)}.")],
        )
    where = [Task.owner_id == user.id]
    if board_id is not None:
        where.append(Task.board_id == _board_ref(session, user, board_id).id)
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

    total = session.scalar(select(func.count(Task.id)).where(*where)) or 0
    query = select(Task).where(*where).order_by(*_order(sort)).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), total


def _order(sort: str) -> list:
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
        columns = [Task.board_id, status_rank, Task.position]
        if descending:
            columns = [c.desc() for c in columns]
    else:
        columns = [Task.created_at.desc() if descending else Task.created_at]
    return [*columns, Task.id.desc() if descending else Task.id]


def board_columns(*, session: Session, user: User, board: Board, **filters) -> dict:
    """``{status: [tasks in position order]}`` for a board page, with the given filters."""
    tasks, _ = list_tasks(session=session, user=user, board_id=board.id, **filters)
    columns = {status: [] for status in STATUSES}
    for task in tasks:
        columns[task.status].append(task)
    return columns


# -- positions -----------------------------------------------------------------------------


def _lock_board(session: Session, board_id: int) -> None:
    session.execute(select(Board.id).where(Board.id == board_id).with_for_update())


def _column_ids(session: Session, board_id: int, status: str, exclude: int | None) -> list[int]:
    rows = session.scalars(
        select(Task.id)
        .where(Task.board_id == board_id, Task.status == status)
        .order_by(Task.position, Task.id)
    )
    return [task_id for task_id in rows if task_id != exclude]


def _renumber(session: Session, ids: list[int]) -> None:
    """Give ``ids`` the positions 0..n-1 in one UPDATE. A plain table UPDATE on purpose: it
    leaves the siblings' versions alone (see the module docstring)."""
    if not ids:
        return
    table = Task.__table__
    positions = {task_id: index for index, task_id in enumerate(ids)}
    session.execute(
        update(table).where(table.c.id.in_(ids)).values(position=case(positions, value=table.c.id))
    )


def _set_status(task: Task, status: str) -> None:
    if status == task.status:
        return
    task.status = status
    # completed_at records when it became completed, and is cleared when it leaves.
    task.completed_at = utcnow() if status == "completed" else None


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and task.version != expected_version:
        raise VersionConflict(task)


@contextmanager
def _saving(session: Session, task: Task | None, expected_version: int | None):
    """Flush and commit what the block does; a concurrent writer that won the race (the
    version no longer matches) turns into a conflict, and nothing is saved."""
    try:
        yield
        session.commit()
    except StaleDataError:
        session.rollback()
        if task is None or expected_version is None:
            raise Conflict(
                "The task was changed or deleted at the same time; please retry."
            ) from None
        current = session.get(Task, task.id)
        if current is None:
            raise NotFound("Task not found.") from None
        raise VersionConflict(current) from None
    # Renumbering bypassed the ORM: reload what the session holds.
    session.expire_all()


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


# -- writes --------------------------------------------------------------------------------


def create_task(
    *, session: Session, user: User, task_in: TaskCreate, position: int | None = None
) -> Task:
    """Create a task on ``task_in.board_id`` (default: the user's default board), at
    ``position`` in its column (default and past the end: last)."""
    board = _board_ref(session, user, task_in.board_id)
    return _insert(session, user, board, task_in.model_dump(exclude={"board_id"}), position)


def _insert(session: Session, user: User, board: Board, clean: dict, position, **extra) -> Task:
    _lock_board(session, board.id)
    column = _column_ids(session, board.id, clean["status"], exclude=None)
    index = len(column) if position is None else max(0, min(position, len(column)))
    labels = clean.pop("labels")
    task = Task(board_id=board.id, owner_id=user.id, position=index, **clean)
    if task.status == "completed":
        task.completed_at = utcnow()
    for key, value in extra.items():
        setattr(task, key, value)
    _set_labels(task, labels)
    session.add(task)
    with _saving(session, None, None):
        session.flush()
        column.insert(index, task.id)
        _renumber(session, column)
    return task


def update_task(
    *,
    session: Session,
    user: User,
    task: Task,
    changes: TaskUpdate,
    expected_version: int | None = None,
) -> Task:
    """Change the fields given in ``changes``; a new status or board puts the task last in
    its new column."""
    _check_version(task, expected_version)
    clean = changes.changes()
    new_board = clean.pop("board_id", None)
    board_id = task.board_id
    if new_board is not None:
        board_id = _board_ref(session, user, new_board).id
    labels = clean.pop("labels", None)
    changed = any(getattr(task, key) != value for key, value in clean.items())
    changed = changed or (labels is not None and labels != task.labels)
    new_status = clean.pop("status", task.status)
    moving = board_id != task.board_id or new_status != task.status
    if not changed and not moving:
        return task

    old_board, old_status = task.board_id, task.status
    if moving:
        _lock_board(session, old_board)
        if board_id != old_board:
            _lock_board(session, board_id)
        old_column = _column_ids(session, old_board, old_status, exclude=task.id)
        new_column = _column_ids(session, board_id, new_status, exclude=task.id)
        new_column.append(task.id)
        task.board_id = board_id
        task.position = len(new_column) - 1
        _set_status(task, new_status)
    for key, value in clean.items():
        setattr(task, key, value)
    if labels is not None:
        _set_labels(task, labels)
    task.updated_at = utcnow()  # also makes a labels-only change bump the version
    with _saving(session, task, expected_version):
        session.flush()
        if moving:
            _renumber(session, old_column)
            _renumber(session, new_column)
    return task


def move_task(
    *,
    session: Session,
    task: Task,
    move: TaskMove,
    before_id: int | None = None,
    expected_version: int | None = None,
) -> Task:
    """Put the task at ``move.position`` of the ``move.status`` column of its board
    (default: last; past the end appends), or just above task ``before_id`` when that is
    in the column (drag and drop on a filtered board knows its neighbour, not the
    position). Both columns are renumbered."""
    _check_version(task, expected_version)
    status = task.status if move.status is None else move.status
    position = move.position
    _lock_board(session, task.board_id)
    old_column = _column_ids(session, task.board_id, task.status, exclude=task.id)
    new_column = (
        old_column
        if status == task.status
        else _column_ids(session, task.board_id, status, exclude=task.id)
    )
    if before_id is not None and before_id in new_column:
        index = new_column.index(before_id)
    else:
        index = len(new_column) if position is None else min(position, len(new_column))
    if status == task.status and index == task.position:
        session.commit()  # release the lock; nothing moves
        return task
    new_column.insert(index, task.id)
    old_status = task.status
    _set_status(task, status)
    task.position = index
    task.updated_at = utcnow()
    with _saving(session, task, expected_version):
        session.flush()
        if status != old_status:
            _renumber(session, old_column)
        _renumber(session, new_column)
    return task


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
        "position": task.position,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
    }


def delete_task(*, session: Session, task: Task, expected_version: int | None = None) -> dict:
    """Delete the task, close the gap in its column; returns its ``snapshot`` for an undo."""
    _check_version(task, expected_version)
    saved = snapshot(task)
    _lock_board(session, task.board_id)
    column = _column_ids(session, task.board_id, task.status, exclude=task.id)
    session.delete(task)
    with _saving(session, task, expected_version):
        session.flush()
        _renumber(session, column)
    return saved


def restore_task(*, session: Session, user: User, saved: dict) -> Task:
    """Recreate a deleted task from its ``snapshot`` (a new id, at its old place)."""
    if saved.get("owner_id") != user.id:
        raise NotFound("Task not found.")
    try:
        board = get_owned(session, Board, saved["board_id"], user)
    except NotFound:
        raise NotFound("The board of this task no longer exists.") from None
    created_at = datetime.fromisoformat(saved["created_at"])
    # Undo twice (a double click, a replayed request) restores one task, not two.
    already = session.scalar(
        select(Task).where(
            Task.owner_id == user.id,
            Task.board_id == board.id,
            Task.created_at == created_at,
            Task.title == saved["title"],
        )
    )
    if already is not None:
        return already
    clean = TaskCreate.model_validate(saved).model_dump(exclude={"board_id"})
    extra = {"created_at": created_at}
    if saved["completed_at"]:
        extra["completed_at"] = datetime.fromisoformat(saved["completed_at"])
    return _insert(session, user, board, clean, saved["position"], **extra)
