"""What the boards feature accepts: pydantic models of board and task input. The API builds
them from JSON (``api_operation``), the browser routes from form fields (:func:`parse`), and
the services take them, so each field is checked and normalised in one place: adding a
field means adding it here and where it is stored. The services check only what needs the
database (that a board belongs to the user).

Unknown fields are ignored, as in every API request model (``webapp.api.schemas.ApiModel``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from webapp.db import MAX_ID
from webapp.errors import ValidationFailed, field_error
from webapp.models.board import (
    BOARD_DESCRIPTION_MAX,
    DESCRIPTION_MAX,
    LABEL_MAX,
    LABELS_MAX,
    NAME_MAX,
    PRIORITIES,
    STATUSES,
    TITLE_MAX,
)

# ``Literal[("a", "b")]`` is ``Literal["a", "b"]``: the values come from the model.
Priority = Literal[PRIORITIES]
Status = Literal[STATUSES]

# What the browser shows under a field whose value pydantic refused (the API answers with
# pydantic's own messages); our own checks below carry their message.
RULES = {
    "name": f"Name must be 1 to {NAME_MAX} characters long.",
    "title": f"Title must be 1 to {TITLE_MAX} characters long.",
    "description": f"Description must be at most {DESCRIPTION_MAX} characters.",
    "labels": f"Up to {LABELS_MAX} labels, each 1 to {LABEL_MAX} characters, without commas.",
    "priority": f"Priority must be one of: {', '.join(PRIORITIES)}.",
    "status": f"Status must be one of: {', '.join(STATUSES)}.",
    "due_date": "Due date must be a date like 2026-12-31.",
}


def _no_nul(value: str) -> str:
    if "\x00" in value:
        # PostgreSQL cannot store NUL characters; no real text contains them.
        raise PydanticCustomError("nul_character", "Text must not contain NUL characters.")
    return value


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _merge_labels(labels: list[str]) -> list[str]:
    """Keep the first of labels that differ only in case ("Bug" and "bug" are one label)."""
    seen, merged = set(), []
    for label in labels:
        if label.lower() not in seen:
            seen.add(label.lower())
            merged.append(label)
    return merged


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value):
    # Pydantic would also read numbers as Unix timestamps; we take only "YYYY-MM-DD".
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("Expected a date like 2026-12-31.")


def _line(max_length: int):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_no_nul),
        AfterValidator(_one_line),
    ]


def _text(max_length: int):
    return Annotated[
        str, Field(max_length=max_length), AfterValidator(_no_nul), AfterValidator(str.strip)
    ]


Title = _line(TITLE_MAX)
Description = _text(DESCRIPTION_MAX)
BoardName = _line(NAME_MAX)
BoardDescription = _text(BOARD_DESCRIPTION_MAX)
Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=LABEL_MAX, pattern=r"^[^,]+$"
    ),
    AfterValidator(_no_nul),
    AfterValidator(_one_line),
]
Labels = Annotated[
    list[Label],
    Field(
        max_length=LABELS_MAX,
        description=(
            f"Up to {LABELS_MAX} short tags (1 to {LABEL_MAX} characters, no commas); "
            "duplicates that differ only in case are merged."
        ),
    ),
    AfterValidator(_merge_labels),
]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def split_labels(text: str) -> list[str]:
    """Labels typed in one box, separated by commas."""
    return [part for part in (text or "").split(",") if part.strip()]


M = TypeVar("M", bound=BaseModel)


class Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


def parse(model: type[M], data: dict) -> M:
    """``model`` from form ``data``, or :class:`ValidationFailed` naming each field with the
    readable rule it broke (for ``webapp.web.apply_service_errors``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = []
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "form"
            custom = error["type"] == "nul_character"
            details.append(
                field_error(name, error["msg"] if custom else RULES.get(name, error["msg"]))
            )
        raise ValidationFailed("Some fields are not valid.", details=details) from None


# -- boards --------------------------------------------------------------------------------


class BoardCreate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Home"}]})

    name: BoardName
    description: BoardDescription = ""


class BoardUpdate(Input):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Work"}]})

    name: BoardName = Field(default=None)
    description: BoardDescription = Field(default=None)


# -- tasks ---------------------------------------------------------------------------------


class TaskCreate(Input):
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

    def as_update(self) -> TaskUpdate:
        fields = self.model_dump(exclude={"board_id"} if self.board_id is None else set())
        return TaskUpdate.model_construct(_fields_set=set(fields), **fields)


class TaskUpdate(Input):
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

    def changes(self) -> dict:
        """The fields the caller gave, by name."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class TaskMove(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "completed", "position": 0}]}
    )

    status: Status | None = Field(default=None, description="Target column; default: the same.")
    position: int | None = Field(
        default=None, ge=0, description="0-based place in the column; past the end appends."
    )
