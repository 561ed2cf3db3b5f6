"""Pydantic schemas of boards and tasks: they validate requests and describe the API.

The services check the same limits again (the browser forms go straight to them), with the
same constants, so the two layers cannot disagree.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from webapp.api.schemas import ApiModel, Page, PageQuery
from webapp.db import MAX_ID
from webapp.services import boards as board_service
from webapp.services import tasks as task_service

Priority = Literal["low", "medium", "high", "urgent"]
Status = Literal["pending", "in_progress", "completed"]
Sort = Literal[
    "position",
    "-position",
    "created_at",
    "-created_at",
    "due_date",
    "-due_date",
    "priority",
    "-priority",
]

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=task_service.TITLE_MAX)
]
Description = Annotated[str, Field(max_length=task_service.DESCRIPTION_MAX)]
Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=task_service.LABEL_MAX, pattern=r"^[^,]+$"
    ),
]
Labels = Annotated[
    list[Label],
    Field(
        max_length=task_service.LABELS_MAX,
        description=(
            f"Up to {task_service.LABELS_MAX} short tags (1 to {task_service.LABEL_MAX} "
            "characters, no commas); duplicates that differ only in case are merged."
        ),
    ),
]
BoardName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=board_service.NAME_MAX),
]
BoardDescription = Annotated[str, Field(max_length=board_service.DESCRIPTION_MAX)]


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value):
    # Pydantic would also read numbers as Unix timestamps; the API takes only "YYYY-MM-DD".
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("Expected a date like 2026-12-31.")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _as_list(value):
    # ``?status=a`` arrives as a string, ``?status=a&status=b`` as a list.
    return [value] if isinstance(value, str) else value


# -- boards --------------------------------------------------------------------------------


class TaskCounts(BaseModel):
    pending: int = 0
    in_progress: int = 0
    completed: int = 0


class BoardPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "owner_id": 1,
                    "name": "My board",
                    "description": "",
                    "task_counts": {"pending": 2, "in_progress": 1, "completed": 5},
                    "created_at": "2026-01-31T12:00:00Z",
                    "updated_at": "2026-01-31T12:00:00Z",
                }
            ]
        },
    )

    id: int
    owner_id: int
    name: str
    description: str
    task_counts: TaskCounts = Field(default_factory=TaskCounts)
    created_at: datetime
    updated_at: datetime


class BoardPage(Page[BoardPublic]):
    """One page of boards, oldest first (the first one is the default board)."""


class BoardCreate(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Home"}]})

    name: BoardName
    description: BoardDescription = ""


class BoardUpdate(ApiModel):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Work"}]})

    name: BoardName = Field(default=None)
    description: BoardDescription = Field(default=None)


# -- tasks ---------------------------------------------------------------------------------


class TaskPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "board_id": 1,
                    "owner_id": 1,
                    "title": "Learn Flask",
                    "description": "",
                    "priority": "medium",
                    "status": "pending",
                    "labels": ["study"],
                    "due_date": "2026-12-31",
                    "position": 0,
                    "is_completed": False,
                    "created_at": "2026-01-31T12:00:00Z",
                    "updated_at": "2026-01-31T12:00:00Z",
                    "completed_at": None,
                    "version": 1,
                }
            ]
        },
    )

    id: int
    board_id: int
    owner_id: int
    title: str
    description: str
    priority: Priority
    status: Status
    labels: list[str]
    due_date: date | None
    position: int = Field(description="0-based place in its (board, status) column.")
    is_completed: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = Field(description="When it last became completed.")
    version: int = Field(description="Bumped by every change; the ETag carries it.")


class TaskPage(Page[TaskPublic]):
    """One page of tasks."""


class TaskCreate(ApiModel):
    """A new task; only ``title`` is required. Without ``board_id`` it goes to the default
    board, at the end of its status column."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"title": "Learn Flask"},
                {
                    "title": "Ship v1",
                    "priority": "high",
                    "due_date": "2026-12-31",
                    "labels": ["work"],
                    "board_id": 1,
                },
            ]
        }
    )

    title: Title
    description: Description = ""
    priority: Priority = "medium"
    status: Status = "pending"
    due_date: IsoDate | None = None
    labels: Labels = Field(default_factory=list)
    board_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Default: the user's default board.",
    )


class TaskReplace(TaskCreate):
    """The whole task (PUT): omitted fields take their defaults, except ``board_id``, which
    keeps the current board when omitted. A new status or board puts it last there."""


class TaskUpdate(ApiModel):
    """Fields to change (PATCH); omitted fields stay as they are. ``due_date: null``
    clears the due date; the other fields cannot be null."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "completed"}, {"due_date": None}]}
    )

    title: Title = Field(default=None)
    description: Description = Field(default=None)
    priority: Priority = Field(default=None)
    status: Status = Field(default=None)
    due_date: IsoDate | None = None
    labels: Labels = Field(default=None)
    board_id: int = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Move it to this board (last in its column).",
    )


class TaskMove(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "completed", "position": 0}]}
    )

    status: Status | None = Field(default=None, description="Target column; default: the same.")
    position: int | None = Field(
        default=None, ge=0, description="0-based place in the column; past the end appends."
    )


class TaskQuery(PageQuery):
    board_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: Annotated[list[Status] | None, BeforeValidator(_as_list)] = Field(
        default=None, description="Repeat to match any of several statuses."
    )
    priority: Annotated[list[Priority] | None, BeforeValidator(_as_list)] = Field(
        default=None, description="Repeat to match any of several priorities."
    )
    label: str | None = Field(default=None, max_length=task_service.LABEL_MAX)
    q: str | None = Field(
        default=None, max_length=200, description="Text in the title or description."
    )
    due_before: IsoDate | None = Field(default=None, description="Due on or before this day.")
    due_after: IsoDate | None = Field(default=None, description="Due on or after this day.")
    overdue: bool | None = Field(
        default=None, description="Due before today (UTC) and not completed."
    )
    sort: Sort = Field(
        default="position",
        description=(
            "`position` is board order (board, column, place); `priority` puts urgent "
            "first; `due_date` puts tasks without a due date last; `-` reverses."
        ),
    )
