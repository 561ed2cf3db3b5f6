"""Task boards: a user's boards and the tasks on them (with their labels)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from webapp.db import Base, UTCDateTime, utcnow
from webapp.models.user import User

# The lists of values and the limits of boards and tasks: the schemas, the forms, the
# templates and the check constraints below all read them from here.
PRIORITIES = ("low", "medium", "high", "urgent")
STATUSES = ("pending", "in_progress", "completed")
STATUS_LABELS = {"pending": "Pending", "in_progress": "In progress", "completed": "Completed"}
NAME_MAX = 100
BOARD_DESCRIPTION_MAX = 2000
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
LABEL_MAX = 30
LABELS_MAX = 10


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Board(Base):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The backref gives User.boards without touching the accounts model; deleting a user
    # deletes their boards in the ORM too (the FK cascades for bulk/SQL deletes).
    owner: Mapped[User] = relationship(
        backref=backref("boards", cascade="all, delete-orphan", passive_deletes=True)
    )
    tasks: Mapped[list[Task]] = relationship(
        back_populates="board", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Board {self.id} {self.name!r}>"


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        # A column of the board is (board_id, status) ordered by (rank, id); with the id in
        # the index, neighbours and positions are index-only lookups.
        Index("ix_tasks_board_id_status_rank", "board_id", "status", "rank", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    # The order within the (board, status) column: gapped, so a move changes one row (see
    # services.tasks); clients see the dense position computed from it.
    rank: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Optimistic locking: every UPDATE of the row checks and bumps it, so two writers
    # working from the same version cannot both succeed (the loser gets StaleDataError).
    version: Mapped[int] = mapped_column(Integer)

    board: Mapped[Board] = relationship(back_populates="tasks")
    owner: Mapped[User] = relationship(
        backref=backref("tasks", cascade="all, delete-orphan", passive_deletes=True)
    )
    label_rows: Mapped[list[TaskLabel]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TaskLabel.position",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def labels(self) -> list[str]:
        return [row.name for row in self.label_rows]

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.title!r} {self.status}>"


class TaskLabel(Base):
    """One label of a task; a table (not a JSON list) so filters by label are plain SQL."""

    __tablename__ = "task_labels"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(LABEL_MAX), primary_key=True)
    # Labels keep the order the user gave them.
    position: Mapped[int] = mapped_column(Integer, default=0)
