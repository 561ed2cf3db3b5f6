"""Boards: create, rename, delete, and the default board every user has."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import ValidationFailed, field_error
from webapp.models import Board, Task, User
from webapp.models.board import STATUSES
from webapp.services import signup_hooks

NAME_MAX = 100
DESCRIPTION_MAX = 2000
DEFAULT_BOARD_NAME = "My board"


def _clean(*, name: str | None = None, description: str | None = None) -> dict:
    errors, clean = [], {}
    for field, value in (("name", name), ("description", description)):
        if value is not None and "\x00" in value:
            # PostgreSQL cannot store NUL characters; no real text contains them.
            errors.append(field_error(field, "Text must not contain NUL characters."))
    if name is not None:
        name = " ".join(name.split())  # one line, no stray spaces
        if not 1 <= len(name) <= NAME_MAX:
            errors.append(field_error("name", f"Name must be 1 to {NAME_MAX} characters long."))
        clean["name"] = name
    if description is not None:
        description = description.strip()
        if len(description) > DESCRIPTION_MAX:
            errors.append(
                field_error(
                    "description", f"Description must be at most {DESCRIPTION_MAX} characters."
                )
            )
        clean["description"] = description
    if errors:
        raise ValidationFailed("Some fields are not valid.", details=errors)
    return clean


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
    *, session: Session, user: User, name: str, description: str = "", commit: bool = True
) -> Board:
    clean = _clean(name=name, description=description)
    board = Board(owner_id=user.id, **clean)
    session.add(board)
    if commit:
        session.commit()
    else:
        session.flush()
    return board


def update_board(
    *, session: Session, board: Board, name: str | None = None, description: str | None = None
) -> Board:
    for key, value in _clean(name=name, description=description).items():
        setattr(board, key, value)
    session.commit()
    return board


def delete_board(*, session: Session, board: Board) -> None:
    """Delete the board and its tasks (ORM cascade here, ON DELETE CASCADE in SQL)."""
    session.delete(board)
    session.commit()


def default_board(*, session: Session, user: User) -> Board:
    """The user's first board, made on the spot for accounts that have none (older accounts,
    or a user who deleted them all)."""
    board = session.scalar(
        select(Board).where(Board.owner_id == user.id).order_by(Board.id).limit(1)
    )
    if board is None:
        board = create_board(session=session, user=user, name=DEFAULT_BOARD_NAME)
    return board


@signup_hooks.register
def create_default_board(*, session: Session, user: User) -> None:
    """Every new account starts with one board (committed with the account)."""
    session.add(Board(owner_id=user.id, name=DEFAULT_BOARD_NAME, description=""))


def fingerprint(*, session: Session, board: Board) -> str:
    """A short digest of everything a board page shows, so a poll can answer "unchanged"
    cheaply. Positions are included because renumbering does not bump versions."""
    rows = session.execute(
        select(Task.id, Task.version, Task.status, Task.position)
        .where(Task.board_id == board.id)
        .order_by(Task.id)
    ).all()
    # The date is part of it: "overdue" and "due soon" marks change at midnight.
    head = f"{utcnow().date()}|{board.name}|{board.updated_at.isoformat()}|"
    digest = hashlib.sha256(head.encode())
    for row in rows:
        digest.update(f"{row.id}:{row.version}:{row.status}:{row.position};".encode())
    return digest.hexdigest()[:16]
