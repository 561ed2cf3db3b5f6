"""Forms of the board pages. They parse the fields and catch what a person typed wrong
(empty title, a date that is not one) with messages for people; the routes then build the
same input models the API takes (``services.board_inputs``), which check everything."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from webapp.models.board import (
    BOARD_DESCRIPTION_MAX,
    DESCRIPTION_MAX,
    LABELS_MAX,
    NAME_MAX,
    PRIORITIES,
    STATUS_LABELS,
    STATUSES,
    TITLE_MAX,
)

PRIORITY_CHOICES = [SelectChoice(p, p.capitalize()) for p in PRIORITIES]
STATUS_CHOICES = [SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES]


class BoardForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the board a name."),
            Length(max=NAME_MAX),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=BOARD_DESCRIPTION_MAX)],
    )


class QuickTaskForm(FlaskForm):
    """The one-line "add a task" form at the top of a column."""

    title = StringField(
        "Title",
        validators=[DataRequired("Type a title first."), Length(max=TITLE_MAX)],
    )
    status = SelectField("Column", choices=STATUS_CHOICES, default="pending")


class TaskForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[DataRequired("The title cannot be empty."), Length(max=TITLE_MAX)],
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    priority = SelectField("Priority", choices=PRIORITY_CHOICES, default="medium")
    status = SelectField("Status", choices=STATUS_CHOICES, default="pending")
    due_date = DateField("Due date", validators=[Optional()])
    labels = StringField(
        "Labels",
        description=f"Separate with commas; up to {LABELS_MAX}.",
        validators=[Optional(), Length(max=400)],
    )
    # The version the user started editing from; a newer one on save means a conflict.
    version = IntegerField(widget=HiddenInput(), validators=[NumberRange(min=1)])


class MoveForm(FlaskForm):
    """A move by drag and drop (status + position) or by a button (direction)."""

    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Same column"), *STATUS_CHOICES],
        validators=[Optional()],
    )
    position = IntegerField(validators=[Optional(), NumberRange(min=0)])
    direction = SelectField(
        choices=[SelectChoice(d) for d in ("", "left", "right", "up", "down")],
        validators=[Optional()],
    )
