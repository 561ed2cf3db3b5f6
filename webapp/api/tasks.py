"""Tasks over the API, with ETags and ``If-Match`` so two clients cannot lose each other's
updates: every task response carries ``ETag: W/"<id>-<version>"``, and a write sent with an
``If-Match`` that no longer matches answers 412 and changes nothing.

The tag is weak because sibling tasks shift position without a new version (see
``services.tasks``); ``If-Match`` compares the tag values (weak comparison) on purpose.
Werkzeug parses the header (``request.if_match``) and writes the tag (``set_etag``).
"""

from __future__ import annotations

from flask import Response, request

from webapp.api import bp
from webapp.api.deps import current_api_user
from webapp.api.routing import api_operation as _api_operation
from webapp.api.task_schemas import (
    TaskCreate,
    TaskMove,
    TaskPage,
    TaskPublic,
    TaskQuery,
    TaskReplace,
    TaskUpdate,
)
from webapp.db import get_session
from webapp.models import Task
from webapp.services import task_views
from webapp.services import tasks as task_service
from webapp.web import owned

REF = "#/components/schemas/{}"
JSON = "application/json"
ETAG_HEADER = {
    "ETag": {
        "description": 'The task\'s version tag, `W/"<id>-<version>"`; send it back as '
        "`If-Match` to make a write conditional.",
        "schema": {"type": "string"},
    }
}
IF_MATCH_NOTE = (
    " Send `If-Match` with the task's ETag to make the write conditional: if the task "
    "changed meanwhile the answer is 412 (with the current ETag) and nothing is changed."
)


def _with_etag(status: int, description: str) -> dict:
    return {
        str(status): {
            "description": description,
            "headers": ETAG_HEADER,
            "content": {"application/json": {"schema": {"$ref": REF.format("TaskPublic")}}},
        }
    }


def api_operation(rule, method, **kwargs):
    return _api_operation(bp, rule, method, tags=["tasks"], **kwargs)


def tag(task) -> str:
    return f"{task.id}-{task.version}"


def _respond(shown: task_views.TaskView, status: int = 200):
    response = Response(TaskPublic.model_validate(shown).model_dump_json(), status, mimetype=JSON)
    response.set_etag(tag(shown), weak=True)
    return response


def _if_match(task: Task) -> int | None:
    """The version the write must start from: None without ``If-Match`` (unconditional),
    else the current version if one of the tags matches it, else 412."""
    if "If-Match" not in request.headers:
        return None
    if request.if_match.star_tag or request.if_match.contains_weak(tag(task)):
        # The ORM still checks the version on UPDATE, so a writer that slips in between
        # this check and our commit makes us answer 412 too.
        return task.version
    raise _conflict(task_service.VersionConflict(task))


def _conflict(exc: task_service.VersionConflict) -> task_service.VersionConflict:
    exc.headers["ETag"] = f'W/"{tag(exc.task)}"'
    return exc


def _write(func, task: Task, **kwargs):
    try:
        return func(session=get_session(), task=task, expected_version=_if_match(task), **kwargs)
    except task_service.VersionConflict as exc:
        raise _conflict(exc) from None


@api_operation(
    "/tasks",
    "POST",
    summary="Create a task",
    body=TaskCreate,
    response=TaskPublic,
    status=201,
    extra_responses=_with_etag(201, "The new task."),
)
def create_task(body: TaskCreate):
    """Create a task; `{"title": "Learn Flask"}` alone is enough. An unknown `board_id`
    answers 422."""
    task = task_service.create_task(session=get_session(), user=current_api_user(), task_in=body)
    return _respond(task, 201)


@api_operation("/tasks", "GET", summary="List tasks", query=TaskQuery, response=TaskPage)
def list_tasks(query: TaskQuery):
    """The caller's tasks matching all given filters. `limit` is 1 to 200 (default 50);
    a larger value answers 422 rather than being cut silently."""
    tasks, total = task_views.list_tasks(
        session=get_session(),
        user=current_api_user(),
        board_id=query.board_id,
        statuses=query.status,
        priorities=query.priority,
        label=query.label,
        q=query.q,
        due_before=query.due_before,
        due_after=query.due_after,
        overdue=query.overdue,
        sort=query.sort,
        limit=query.limit,
        offset=query.offset,
    )
    page = TaskPage.of(tasks, total=total, query=query)
    return Response(page.model_dump_json(), mimetype=JSON)


@api_operation(
    "/tasks/<int:task_id>",
    "GET",
    summary="Get a task",
    response=TaskPublic,
    extra_responses=_with_etag(200, "The task."),
)
def get_task(task_id: int):
    task = owned(Task, task_id)
    return _respond(task_views.view(session=get_session(), task_id=task.id))


@api_operation(
    "/tasks/<int:task_id>",
    "PUT",
    summary="Replace a task",
    body=TaskReplace,
    response=TaskPublic,
    errors=(412,),
    extra_responses=_with_etag(200, "The task as saved."),
    description=TaskReplace.__doc__.strip() + IF_MATCH_NOTE,
)
def replace_task(task_id: int, body: TaskReplace):
    task = owned(Task, task_id)
    changes = body.as_update()
    return _respond(
        _write(task_service.update_task, task, user=current_api_user(), changes=changes)
    )


@api_operation(
    "/tasks/<int:task_id>",
    "PATCH",
    summary="Update some fields of a task",
    body=TaskUpdate,
    response=TaskPublic,
    errors=(412,),
    extra_responses=_with_etag(200, "The task as saved."),
    description=TaskUpdate.__doc__.strip() + IF_MATCH_NOTE,
)
def update_task(task_id: int, body: TaskUpdate):
    task = owned(Task, task_id)
    return _respond(_write(task_service.update_task, task, user=current_api_user(), changes=body))


@api_operation(
    "/tasks/<int:task_id>",
    "DELETE",
    summary="Delete a task",
    status=204,
    errors=(412,),
    description="Delete the task; the tasks below it move up." + IF_MATCH_NOTE,
)
def delete_task(task_id: int):
    _write(task_service.delete_task, owned(Task, task_id))
    return None


@api_operation(
    "/tasks/<int:task_id>/move",
    "POST",
    summary="Move a task",
    body=TaskMove,
    response=TaskPublic,
    errors=(412,),
    extra_responses=_with_etag(200, "The task at its new place."),
    description=(
        "Put the task at `position` (0-based) of the `status` column of its board; a "
        "position past the end appends, no position means last. Only this task is "
        "written; the others keep their order and their positions stay 0..n-1." + IF_MATCH_NOTE
    ),
)
def move_task(task_id: int, body: TaskMove):
    task = owned(Task, task_id)
    return _respond(_write(task_service.move_task, task, move=body))
