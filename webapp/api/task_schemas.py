"""Pydantic schemas of boards and tasks in the API: what it answers (``*Public``, pages) and
the task list's query. What it accepts (``TaskCreate``, ``BoardUpdate``...) is
``webapp.services.board_inputs``, shared with the browser forms and taken by the services.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from webapp.api.schemas import Page, PageQuery
from webapp.db import MAX_ID
from webapp.models.board import LABEL_MAX
from webapp.services.board_inputs import (  # noqa: F401  (the API's request models)
    BoardCreate,
    BoardUpdate,
    IsoDate,
    Priority,
    Status,
    TaskCreate,
    TaskMove,
    TaskReplace,
    TaskUpdate,
)
from webapp.services.task_views import SORTS

Sort = Literal[SORTS]


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


class TaskQuery(PageQuery):
    board_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: Annotated[list[Status] | None, BeforeValidator(_as_list)] = Field(
        default=None, description="Repeat to match any of several statuses."
    )
    priority: Annotated[list[Priority] | None, BeforeValidator(_as_list)] = Field(
        default=None, description="Repeat to match any of several priorities."
    )
    label: str | None = Field(default=None, max_length=LABEL_MAX)
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
