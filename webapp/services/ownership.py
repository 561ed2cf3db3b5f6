"""The one owner-scoped lookup: every object a user owns (boards, tasks, data sets, runs,
model versions) is fetched through :func:`get_owned`.

Another user's object and a missing one give the same answer, a 404, so ids reveal nothing
about other accounts; an id outside the column's range is a 404 too, before the database is
asked (PostgreSQL answers an out-of-range parameter with an error, not "no row").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from webapp.db import MAX_ID
from webapp.errors import NotFound
from webapp.models import Board, Dataset, ModelVersion, Run, Task, User

T = TypeVar("T")

NOT_FOUND = {
    Board: "Board not found.",
    Task: "Task not found.",
    Dataset: "Data set not found.",
    Run: "Run not found.",
    ModelVersion: "Model not found.",
}


def get_owned(
    session: Session, model: type[T], object_id: int, user: User, *, load: Iterable = ()
) -> T:
    """``user``'s ``model`` row with id ``object_id``, with the deferred columns in ``load``
    loaded too; :class:`~webapp.errors.NotFound` otherwise."""
    message = NOT_FOUND[model]
    if not 0 < object_id <= MAX_ID:
        raise NotFound(message)
    query = select(model).where(model.id == object_id, model.owner_id == user.id)
    query = query.options(*(undefer(column) for column in load))
    found = session.scalar(query)
    if found is None:
        raise NotFound(message)
    return found
