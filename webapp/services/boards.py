"""Boards: create, rename, delete, and the default board every user has.

The default board is made on first need (:func:`default_board`: the board list in the
browser and the API, a task created without a board), not by a sign-up hook: it has to be
made lazily anyway for accounts older than boards and for users who deleted all theirs,
and one mechanism covers both. It is idempotent (the user's row is locked while it checks),
so two first requests at once still make one board.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import Board, Task, User
from webapp.models.board import STATUSES
from webapp.services.board_inputs import BoardCreate, BoardUpdate

DEFAULT_BOARD_NAME = "My board"


def list_boards(*, session: Session, user: User, limit=None, offset: int = 0) -> list[Board]:
    query = select(Board).where(Board.owner_id == user.id).order_by(Board.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_boards(*, session: Session, user: User) -> int:
    return session.scalar(select(func.count(Board.id)).where(Board.owner_id == user.id)) or 0


def task_counts(*, session: Session, board_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{board_id: {status: count}}`` with every status present (zero when empty)."""
    counts = {board_id: dict.fromkeys(STATUSES, 0) for board_id in board_ids}
    if not board_ids:
        return counts
    rows = session.execute(
        select(Task.board_id, Task.status, func.count(Task.id))
        .where(Task.board_id.in_(board_ids))
        .group_by(Task.board_id, Task.status)
    )
    for board_id, status, count in rows:
        counts[board_id][status] = count
    return counts


def create_board(
    *, session: Session, user: User, board_in: BoardCreate, commit: bool = True
) -> Board:
    board = Board(owner_id=user.id, **board_in.model_dump())
    session.add(board)
    if commit:
        session.commit()
    else:
        session.flush()
    return board


def update_board(*, session: Session, board: Board, changes: BoardUpdate) -> Board:
    """Change the fields given in ``changes``."""
    for name in changes.model_fields_set:
        setattr(board, name, getattr(changes, name))
    session.commit()
    return board


def delete_board(*, session: Session, board: Board) -> None:
    """Delete the board and its tasks (ORM cascade here, ON DELETE CASCADE in SQL)."""
    session.delete(board)
    session.commit()


def first_board(owner_id: int, *columns) -> Select:
    """The query of a user's default board: their first (default: the whole row)."""
    what = columns or (Board,)
    return select(*what).where(Board.owner_id == owner_id).order_by(Board.id).limit(1)


def default_board(*, session: Session, user: User) -> Board:
    """The user's first board, made on the spot for a user who has none."""
    query = first_board(user.id)
    board = session.scalar(query)
    if board is None:
        # Two first requests at once: the second waits here, then finds the first's board
        # (PostgreSQL; SQLite runs one writer at a time anyway). FOR NO KEY UPDATE, not FOR
        # UPDATE: a request that already inserted a row pointing at the user (an idempotency
        # key) holds the foreign key's KEY SHARE lock on it, which FOR UPDATE waits for, so
        # two first writes deadlocked each other on every retry.
        session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))
        board = session.scalar(query)
    if board is None:
        board = create_board(
            session=session, user=user, board_in=BoardCreate(name=DEFAULT_BOARD_NAME)
        )
    return board


def fingerprint(*, session: Session, board: Board) -> str:
    """A short digest of what a board page shows, so a poll can answer "unchanged" cheaply:
    every task write changes the count of tasks, the latest ``updated_at`` or the sum of
    versions (a move bumps the moved task's version; the others do not move)."""
    count, latest, versions = session.execute(
        select(func.count(Task.id), func.max(Task.updated_at), func.sum(Task.version)).where(
            Task.board_id == board.id
        )
    ).one()
    return digest(board, count, latest, versions or 0)


def digest(board: Board, count: int, latest, versions: int) -> str:
    """:func:`fingerprint` from its parts (a page that has the rows computes them itself)."""
    # The date is part of it: "overdue" and "due soon" marks change at midnight.
    stamp = latest.isoformat() if latest else ""
    head = (
        f"{utcnow().date()}|{board.name}|{board.updated_at.isoformat()}|{count}|{stamp}|{versions}"
    )
    return hashlib.sha256(head.encode()).hexdigest()[:16]
