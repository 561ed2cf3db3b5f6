"""Board pages. Board actions come from htmx and are answered with the partial templates
the pages include (``boards/_columns.html``, ``_task_card.html``...; no page reloads); a
plain form post without JavaScript is redirected back to the page instead.

Routes stay thin: they turn forms into the input models of ``services.board_inputs`` and
call ``services.boards`` / ``services.tasks``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from webapp.boards import bp, cards
from webapp.boards.forms import BoardForm, MoveForm, QuickTaskForm, TaskForm
from webapp.boards.values import TEMPLATE_VALUES
from webapp.db import get_session, reads_only
from webapp.errors import BadRequest, NotFound, ValidationFailed
from webapp.models import Board, Task
from webapp.models.board import LABEL_MAX, PRIORITIES, STATUSES
from webapp.services import boards as board_service
from webapp.services import task_views
from webapp.services import tasks as task_service
from webapp.services.board_inputs import (
    BoardCreate,
    BoardUpdate,
    TaskCreate,
    TaskMove,
    TaskUpdate,
    parse,
    split_labels,
)
from webapp.web import apply_service_errors, field_messages, is_htmx, owned

UNDO_SECONDS = 60  # the toast hides sooner; this bounds how old an undo token may be
TASK_FIELDS = ("title", "description", "priority", "status", "due_date", "labels")


@bp.before_request
@login_required
def _require_login():
    """Every board page needs a logged-in user (htmx requests get HX-Redirect)."""


def _user():
    return current_user._get_current_object()


@bp.context_processor
def _values() -> dict:
    return {**TEMPLATE_VALUES, "task_card": cards.task_card}


def _partial(name: str, status: int = 200, **context) -> Response:
    """Render the partial template ``boards/_<name>.html`` alone (for htmx)."""
    return Response(render_template(f"boards/_{name}.html", **context), status=status)


def _task(board, task_id: int):
    task = owned(Task, task_id)
    if task.board_id != board.id:
        raise NotFound("Task not found.")
    return task


# -- filters -------------------------------------------------------------------------------


def _filters() -> dict:
    """The board filters of this request. GETs (the page, the filter form, the poll) carry
    them in the query string; actions take them from the page's address (htmx sends it as
    HX-Current-URL, and keeps it current with HX-Replace-Url), so no form field of an
    action can be mistaken for a filter."""
    values = request.args
    current = request.headers.get("HX-Current-URL")
    if request.method != "GET" and current:
        values = MultiDict(parse_qsl(urlsplit(current).query))
    priority = values.get("priority", "")
    return {
        "priority": priority if priority in PRIORITIES else "",
        "label": " ".join(values.get("label", "").split())[:LABEL_MAX],
        "q": values.get("q", "").strip()[:200],
        "overdue": values.get("overdue") in ("1", "on", "true", "y"),
    }


def _service_filters(filters: dict) -> dict:
    return {
        "priorities": [filters["priority"]] if filters["priority"] else None,
        "label": filters["label"] or None,
        "q": filters["q"] or None,
        "overdue": True if filters["overdue"] else None,
    }


def _board_url(board, filters: dict) -> str:
    query = {k: ("1" if v is True else v) for k, v in filters.items() if v}
    url = url_for("boards.show", board_id=board.id)
    return f"{url}?{urlencode(query)}" if query else url


def _board_context(board, **extra) -> dict:
    filters = _filters()
    shown = task_views.board_columns(
        session=get_session(), user=_user(), board=board, **_service_filters(filters)
    )
    context = {
        **shown,  # columns, totals, labels, fingerprint
        "board": board,
        "board_url": url_for("boards.show", board_id=board.id),
        "filters": filters,
        "filtered": any(filters.values()),
        "today": task_views.today(),
        "add_errors": {},
        "add_values": {},
    }
    context.update(extra)
    return context


def _columns(board, status: int = 200, **extra) -> Response:
    return _partial("columns", status=status, **_board_context(board, **extra))


def _done(board, response_status: int = 200, **extra) -> Response:
    """After a board action: the fresh columns for htmx, a redirect otherwise."""
    if is_htmx():
        return _columns(board, response_status, **extra)
    return redirect(_board_url(board, _filters()))


# -- boards --------------------------------------------------------------------------------


def _boards_context(form=None) -> dict:
    session, user = get_session(), _user()
    board_service.default_board(session=session, user=user)  # older accounts get one here
    boards = board_service.list_boards(session=session, user=user)
    counts = board_service.task_counts(session=session, board_ids=[b.id for b in boards])
    return {"boards": boards, "counts": counts, "form": form or BoardForm(formdata=None)}


@bp.get("")
def index():
    return render_template("boards/index.html", **_boards_context())


@bp.post("")
def create():
    form = BoardForm()
    if form.validate():
        try:
            board_in = parse(
                BoardCreate, {"name": form.name.data, "description": form.description.data or ""}
            )
            board = board_service.create_board(
                session=get_session(), user=_user(), board_in=board_in
            )
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            if not is_htmx():
                return redirect(url_for("boards.show", board_id=board.id))
            return _partial("boards_section", **_boards_context(), created=board)
    if not is_htmx():
        flash("The board was not created: " + _first_error(form), "error")
        return redirect(url_for("boards.index"))
    return _partial("boards_section", status=422, **_boards_context(form))


def _first_error(form) -> str:
    for errors in form.errors.values():
        for message in errors:
            return str(message)
    return "please check the form."


@bp.get("/<int:board_id>/card")
def board_card(board_id: int):
    board = owned(Board, board_id)
    counts = board_service.task_counts(session=get_session(), board_ids=[board.id])
    return _partial("board_card", board=board, board_counts=counts[board.id])


@bp.get("/<int:board_id>/rename")
def rename_form(board_id: int):
    board = owned(Board, board_id)
    form = BoardForm(formdata=None, obj=board, prefix=_rename_prefix(board))
    return _partial("board_rename_form", board=board, form=form)


def _rename_prefix(board) -> str:
    # Unique field ids while several rename forms and the "new board" form are open.
    return f"board-{board.id}"


@bp.post("/<int:board_id>/rename")
def rename(board_id: int):
    board = owned(Board, board_id)
    form = BoardForm(prefix=_rename_prefix(board))
    if form.validate():
        try:
            changes = parse(
                BoardUpdate, {"name": form.name.data, "description": form.description.data or ""}
            )
            board_service.update_board(session=get_session(), board=board, changes=changes)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            if not is_htmx():
                return redirect(url_for("boards.index"))
            return board_card(board.id)
    if not is_htmx():
        flash("The board was not renamed: " + _first_error(form), "error")
        return redirect(url_for("boards.index"))
    return _partial("board_rename_form", status=422, board=board, form=form)


@bp.post("/<int:board_id>/delete")
def delete(board_id: int):
    board = owned(Board, board_id)
    name = board.name
    board_service.delete_board(session=get_session(), board=board)
    if not is_htmx() or request.values.get("from") == "board":  # shown on the next page
        flash(f"Deleted the board “{name}” and its tasks.", "success")
    if is_htmx() and request.values.get("from") != "board":
        return _partial("boards_section", **_boards_context())
    if is_htmx():  # deleted from its own page: go to the list
        return Response(status=204, headers={"HX-Redirect": url_for("boards.index")})
    return redirect(url_for("boards.index"))


# -- the board page ------------------------------------------------------------------------


INTRO_COOKIE = "boards_intro"


@bp.get("/<int:board_id>")
@reads_only
def show(board_id: int):
    board = owned(Board, board_id)
    # Every account gets a board, so the empty state is rarely seen: the first visit
    # explains the board instead, until "Got it" (remembered by this browser).
    intro = request.cookies.get(INTRO_COOKIE) != "seen"
    return render_template("boards/board.html", **_board_context(board), show_intro=intro)


@bp.post("/<int:board_id>/intro")
def dismiss_intro(board_id: int):
    board = owned(Board, board_id)
    if is_htmx():
        response = Response("", status=200)  # the panel swaps itself out
    else:
        response = redirect(url_for("boards.show", board_id=board.id))
    response.set_cookie(
        INTRO_COOKIE, "seen", max_age=365 * 24 * 3600, httponly=True, samesite="Lax"
    )
    return response


@bp.get("/<int:board_id>/columns")
@reads_only
def columns(board_id: int):
    """The columns partial: filters, and the poll that shows changes from elsewhere."""
    board = owned(Board, board_id)
    since = request.args.get("since")
    if since and since == board_service.fingerprint(session=get_session(), board=board):
        return Response(status=204)  # unchanged: htmx swaps nothing
    response = _columns(board)
    if not since:  # a filter change: keep the filters in the address bar for reloads
        response.headers["HX-Replace-Url"] = _board_url(board, _filters())
    return response


@bp.post("/<int:board_id>/tasks")
def add_task(board_id: int):
    board = owned(Board, board_id)
    form = QuickTaskForm()
    status = form.status.data if form.status.data in STATUSES else "pending"
    if form.validate():
        try:
            # At the end of the column, where the form is: tasks typed one after another
            # keep their order, and the field keeps the focus for the next one.
            task_in = parse(
                TaskCreate, {"board_id": board.id, "title": form.title.data, "status": status}
            )
            task_service.create_task(session=get_session(), user=_user(), task_in=task_in)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            return _done(board, focus=f"add-title-{status}")
    if not is_htmx():
        flash("The task was not added: " + _first_error(form), "error")
        return redirect(_board_url(board, _filters()))
    return _columns(
        board,
        422,
        add_errors={status: _first_error(form)},
        add_values={status: form.title.data or ""},
    )


@bp.get("/<int:board_id>/tasks/<int:task_id>")
def task_card(board_id: int, task_id: int):
    board = owned(Board, board_id)
    return _card(board, _task(board, task_id))


def _card(board, task, status: int = 200, **extra) -> Response:
    """One task card alone (``quick=True``: with its quick controls open)."""
    session = get_session()
    totals = board_service.task_counts(session=session, board_ids=[board.id])[board.id]
    return _partial(
        "task_card",
        status=status,
        task=task_views.view(session=session, task_id=task.id),
        board_url=url_for("boards.show", board_id=board.id),
        today=task_views.today(),
        column_size=totals[task.status],
        **extra,
    )


@bp.get("/<int:board_id>/tasks/<int:task_id>/quick")
def quick_controls(board_id: int, task_id: int):
    """The card with its priority, due date and labels controls open."""
    board = owned(Board, board_id)
    return _card(board, _task(board, task_id), quick=True)


QUICK_FIELDS = ("priority", "due_date", "labels")


@bp.post("/<int:board_id>/tasks/<int:task_id>/quick")
def quick_save(board_id: int, task_id: int):
    """Save the quick controls that were sent (htmx sends the one that changed). Only
    those fields are written, so no version check: nothing else of the task is replaced."""
    board = owned(Board, board_id)
    task = _task(board, task_id)
    changes = {name: request.form[name] for name in QUICK_FIELDS if name in request.form}
    if "due_date" in changes:
        changes["due_date"] = changes["due_date"].strip() or None
    if "labels" in changes:
        changes["labels"] = split_labels(changes["labels"])
    try:
        task_service.update_task(
            session=get_session(), user=_user(), task=task, changes=parse(TaskUpdate, changes)
        )
    except ValidationFailed as exc:
        if not is_htmx():
            flash("The task was not saved: " + exc.details[0]["message"], "error")
            return redirect(_board_url(board, _filters()))
        return _card(board, task, 422, quick=True, quick_errors=field_messages(exc))
    if not is_htmx():
        return redirect(_board_url(board, _filters()))
    return _card(board, task, quick=True)


@bp.get("/<int:board_id>/tasks/<int:task_id>/edit")
def edit_task(board_id: int, task_id: int):
    board = owned(Board, board_id)
    task = _task(board, task_id)
    return _partial("task_form", **_form_context(board, task, _task_form(task)))


def _form_context(board, task, form, **extra) -> dict:
    return {
        "board_url": url_for("boards.show", board_id=board.id),
        "task": task,
        "form": form,
        **extra,
    }


def _task_form(task, formdata=None) -> TaskForm:
    form = TaskForm(formdata=formdata, obj=task)
    if formdata is None:
        form.labels.data = ", ".join(task.labels)
    return form


@bp.post("/<int:board_id>/tasks/<int:task_id>")
def save_task(board_id: int, task_id: int):
    board = owned(Board, board_id)
    task = _task(board, task_id)
    form = TaskForm()
    if form.validate():
        try:
            changes = parse(
                TaskUpdate,
                {
                    "title": form.title.data,
                    "description": form.description.data or "",
                    "priority": form.priority.data,
                    "status": form.status.data,
                    "due_date": form.due_date.data,
                    "labels": split_labels(form.labels.data or ""),
                },
            )
            task_service.update_task(
                session=get_session(),
                user=_user(),
                task=task,
                changes=changes,
                expected_version=form.version.data,
            )
        except task_service.VersionConflict as exc:
            return _conflict(board, exc.task, form)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            return _done(board)
    if not is_htmx():
        flash("The task was not saved: " + _first_error(form), "error")
        return redirect(_board_url(board, _filters()))
    return _form_in_place(
        _partial("task_form", status=422, **_form_context(board, task, form)), task
    )


def _form_in_place(response: Response, task) -> Response:
    # The form normally answers with the whole columns; a form with errors replaces itself.
    response.headers["HX-Retarget"] = f"#task-{task.id}"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


def _conflict(board, current, mine: TaskForm) -> Response:
    """The task changed since the form was opened: show the current values, and what the
    user typed next to them, instead of overwriting silently."""
    fresh = _task_form(current)
    differences = []
    for name in TASK_FIELDS:
        yours, theirs = getattr(mine, name).data, getattr(fresh, name).data
        if (yours or "") != (theirs or ""):
            differences.append(
                {"label": getattr(fresh, name).label.text, "yours": yours, "current": theirs}
            )
    if not is_htmx():
        flash("This task was changed elsewhere; nothing was saved.", "error")
        return redirect(_board_url(board, _filters()))
    response = _partial(
        "task_form", status=409, **_form_context(board, current, fresh, conflict=differences)
    )
    return _form_in_place(response, current)


@bp.post("/<int:board_id>/tasks/<int:task_id>/move")
def move_task(board_id: int, task_id: int):
    board = owned(Board, board_id)
    task = _task(board, task_id)
    form = MoveForm()
    if not form.validate():
        raise BadRequest("This move is not valid: " + _first_error(form))
    status, position = form.status.data or task.status, form.position.data
    direction = form.direction.data
    index = STATUSES.index(task.status)
    if direction in ("left", "right"):
        step = -1 if direction == "left" else 1
        status = STATUSES[max(0, min(len(STATUSES) - 1, index + step))]
        position = None  # last in the next column
    elif direction in ("up", "down"):
        status = task.status
        here = task_views.view(session=get_session(), task_id=task.id).position
        position = max(0, here + (-1 if direction == "up" else 1))
    before = request.values.get("before_id", type=int)
    move = TaskMove(status=status, position=position)
    task_service.move_task(session=get_session(), task=task, move=move, before_id=before)
    return _done(board, focus=f"{direction}-{task.id}" if direction else f"task-{task.id}")


@bp.post("/<int:board_id>/tasks/<int:task_id>/delete")
def delete_task(board_id: int, task_id: int):
    board = owned(Board, board_id)
    task = _task(board, task_id)
    title = task.title
    saved = task_service.delete_task(session=get_session(), task=task)
    if not is_htmx():
        flash(f"Deleted “{title}”.", "success")
        return redirect(_board_url(board, _filters()))
    token = _undo_serializer().dumps(saved)
    return _columns(board, toast={"title": title, "token": token})


@bp.post("/<int:board_id>/tasks/restore")
def restore_task(board_id: int):
    board = owned(Board, board_id)
    try:
        saved = _undo_serializer().loads(request.values.get("token", ""), max_age=UNDO_SECONDS)
    except BadSignature:  # includes an expired token
        return _done(board, toast={"error": "Too late to undo: the task stays deleted."})
    if saved.get("board_id") != board.id:
        raise NotFound("Task not found.")
    task = task_service.restore_task(session=get_session(), user=_user(), saved=saved)
    return _done(board, focus=f"task-{task.id}", toast={"restored": task.title})


def _undo_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="boards-undo-delete")
