"""Board pages in the browser: the htmx partials, bad input, conflicts and isolation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.db import get_session
from webapp.models import Board, Task
from webapp.models.board import LABEL_MAX, PRIORITIES, STATUSES, TITLE_MAX
from webapp.services import tasks as task_service
from webapp.services.board_inputs import TaskCreate

HTMX = {"HX-Request": "true"}


@pytest.fixture
def alice(auth):
    auth.signup_and_login("alice")
    return auth


@pytest.fixture
def board_id(client, alice):
    client.get("/boards")
    with client.application.app_context():
        return get_session().scalar(select(func.min(Board.id)))


def add(client, board_id, title, status="pending"):
    response = client.post(
        f"/boards/{board_id}/tasks", data={"title": title, "status": status}, headers=HTMX
    )
    assert response.status_code == 200, response.text
    return response


def task_ids(app, board_id, status="pending"):
    with app.app_context():
        return list(
            get_session().scalars(
                select(Task.id)
                .where(Task.board_id == board_id, Task.status == status)
                .order_by(Task.rank, Task.id)
            )
        )


def test_boards_need_login(client):
    response = client.get("/boards")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    htmx = client.post("/boards/1/tasks", data={"title": "x"}, headers=HTMX)
    assert htmx.status_code == 401 and "HX-Redirect" in htmx.headers


def test_boards_page_lists_default_board(client, alice):
    page = client.get("/boards").text
    assert "My board" in page and "New board" in page
    assert 'href="/boards/' in page


def test_create_rename_delete_board(client, alice, app):
    created = client.post("/boards", data={"name": "Work"}, headers=HTMX)
    assert created.status_code == 200 and "Work" in created.text
    with app.app_context():
        work = get_session().scalar(select(Board).where(Board.name == "Work"))
    form = client.get(f"/boards/{work.id}/rename", headers=HTMX)
    assert 'value="Work"' in form.text
    prefix = f"board-{work.id}-"
    renamed = client.post(f"/boards/{work.id}/rename", data={prefix + "name": "Job"}, headers=HTMX)
    assert "Job" in renamed.text and 'id="board-' in renamed.text
    add(client, work.id, "t1")
    deleted = client.post(f"/boards/{work.id}/delete", headers=HTMX)
    assert deleted.status_code == 200 and "Job" not in deleted.text
    with app.app_context():
        assert get_session().scalar(select(func.count(Task.id))) == 0


def test_delete_board_from_its_page_redirects(client, board_id):
    response = client.post(f"/boards/{board_id}/delete", data={"from": "board"}, headers=HTMX)
    assert response.headers["HX-Redirect"] == "/boards"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_bad_board_name_shows_form_error(client, alice, name):
    response = client.post("/boards", data={"name": name}, headers=HTMX)
    assert response.status_code == 422
    assert "field-errors" in response.text


def test_rename_with_bad_name_keeps_form(client, board_id):
    data = {f"board-{board_id}-name": ""}
    response = client.post(f"/boards/{board_id}/rename", data=data, headers=HTMX)
    assert response.status_code == 422 and "<form" in response.text


def test_board_page_has_three_columns_and_empty_states(client, board_id):
    page = client.get(f"/boards/{board_id}").text
    for title in ("Pending", "In progress", "Completed"):
        assert title in page
    assert "This board is empty" in page
    assert "css/boards.css" in page and "js/boards.js" in page


def test_added_tasks_keep_the_order_they_were_typed_in(client, app, board_id):
    for title in ("first", "second", "third", "fourth"):
        response = add(client, board_id, title)
    text = response.text
    assert text.index("first") < text.index("second") < text.index("third") < text.index("fourth")
    assert len(task_ids(app, board_id)) == 4
    # The field keeps the focus for the next task (boards.js reads data-focus).
    assert 'data-focus="add-title-pending"' in text


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_add_task_bad_title_shows_error(client, app, board_id, title):
    response = client.post(
        f"/boards/{board_id}/tasks", data={"title": title, "status": "pending"}, headers=HTMX
    )
    assert response.status_code == 422
    assert 'id="add-error-pending"' in response.text
    assert task_ids(app, board_id) == []


def test_edit_task(client, app, board_id):
    add(client, board_id, "draft")
    (task_id,) = task_ids(app, board_id)
    form = client.get(f"/boards/{board_id}/tasks/{task_id}/edit", headers=HTMX).text
    assert 'name="version"' in form and 'value="draft"' in form
    data = {
        "title": "final",
        "description": "all fields",
        "priority": "urgent",
        "status": "in_progress",
        "due_date": "2020-01-02",
        "labels": "work, home",
        "version": "1",
    }
    response = client.post(f"/boards/{board_id}/tasks/{task_id}", data=data, headers=HTMX)
    assert response.status_code == 200
    assert "Overdue" in response.text and "Urgent" in response.text
    with app.app_context():
        task = get_session().get(Task, task_id)
        assert (task.title, task.status, task.labels) == ("final", "in_progress", ["work", "home"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", ""), ("due_date", "2026-13-45"), ("priority", "critical"), ("status", "done")],
)
def test_edit_bad_input_shows_form_error(client, app, board_id, field, value):
    add(client, board_id, "draft")
    (task_id,) = task_ids(app, board_id)
    data = {"title": "ok", "priority": "low", "status": "pending", "version": "1", field: value}
    response = client.post(f"/boards/{board_id}/tasks/{task_id}", data=data, headers=HTMX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == f"#task-{task_id}"
    assert "field-errors" in response.text
    with app.app_context():
        assert get_session().get(Task, task_id).title == "draft"


def test_edit_stale_version_shows_conflict(client, app, board_id):
    add(client, board_id, "draft")
    (task_id,) = task_ids(app, board_id)
    base = {"priority": "medium", "status": "pending", "version": "1"}
    url = f"/boards/{board_id}/tasks/{task_id}"
    assert client.post(url, data={**base, "title": "theirs"}, headers=HTMX).status_code == 200
    response = client.post(url, data={**base, "title": "mine"}, headers=HTMX)
    assert response.status_code == 409
    assert "changed somewhere else" in response.text
    assert 'value="theirs"' in response.text and "mine" in response.text  # current + yours
    assert 'name="version" type="hidden" value="2"' in response.text
    with app.app_context():
        assert get_session().get(Task, task_id).title == "theirs"


def test_move_buttons(client, app, board_id):
    for title in ("a", "b", "c"):
        add(client, board_id, title)
    a, b, c = task_ids(app, board_id)
    url = f"/boards/{board_id}/tasks/{{}}/move"
    client.post(url.format(a), data={"direction": "down"}, headers=HTMX)
    assert task_ids(app, board_id) == [b, a, c]
    response = client.post(url.format(c), data={"direction": "right"}, headers=HTMX)
    assert f'data-focus="right-{c}"' in response.text
    assert task_ids(app, board_id, "in_progress") == [c]
    client.post(url.format(c), data={"direction": "left"}, headers=HTMX)
    assert task_ids(app, board_id) == [b, a, c]
    client.post(url.format(b), data={"direction": "up"}, headers=HTMX)  # already on top
    assert task_ids(app, board_id) == [b, a, c]


def test_drag_and_drop_move(client, app, board_id):
    for title in ("a", "b", "c"):
        add(client, board_id, title)
    a, b, c = task_ids(app, board_id)
    url = f"/boards/{board_id}/tasks/{{}}/move"
    client.post(url.format(c), data={"status": "pending", "before_id": a}, headers=HTMX)
    assert task_ids(app, board_id) == [c, a, b]
    client.post(url.format(a), data={"status": "completed"}, headers=HTMX)
    assert task_ids(app, board_id, "completed") == [a]
    response = client.post(url.format(b), data={"status": "nope"}, headers=HTMX)
    assert response.status_code == 400


def test_delete_and_undo(client, app, board_id):
    for title in ("a", "b", "c"):
        add(client, board_id, title)
    a, b, c = task_ids(app, board_id)
    response = client.post(f"/boards/{board_id}/tasks/{b}/delete", headers=HTMX)
    assert "Undo" in response.text and 'hx-swap-oob="true"' in response.text
    assert task_ids(app, board_id) == [a, c]
    token = re.search(r'"token": "([^"]+)"', response.text).group(1)
    restored = client.post(f"/boards/{board_id}/tasks/restore", data={"token": token}, headers=HTMX)
    assert "Restored" in restored.text
    ids = task_ids(app, board_id)
    assert len(ids) == 3 and ids[0] == a and ids[2] == c


def test_undo_with_bad_token_keeps_task_deleted(client, app, board_id):
    response = client.post(
        f"/boards/{board_id}/tasks/restore", data={"token": "forged"}, headers=HTMX
    )
    assert response.status_code == 200 and "Too late to undo" in response.text


def test_filters_and_replace_url(client, app, board_id):
    add(client, board_id, "plain")
    with app.app_context():
        session = get_session()
        user = session.get(Board, board_id).owner
        task_in = TaskCreate(board_id=board_id, title="hot", priority="urgent", labels=["Ops"])
        task_service.create_task(session=session, user=user, task_in=task_in)
    response = client.get(f"/boards/{board_id}/columns?priority=urgent", headers=HTMX)
    assert "hot" in response.text and "plain" not in response.text
    assert response.headers["HX-Replace-Url"] == f"/boards/{board_id}?priority=urgent"
    assert "plain" not in client.get(f"/boards/{board_id}/columns?label=ops").text
    assert "hot" not in client.get(f"/boards/{board_id}/columns?q=PLA").text
    page = client.get(f"/boards/{board_id}?priority=urgent").text
    assert '<option value="urgent" selected>' in page and "1 / 1" not in page


def test_poll_answers_204_when_unchanged(client, board_id):
    first = client.get(f"/boards/{board_id}/columns", headers=HTMX).text
    fingerprint = re.search(r'data-fingerprint="(\w+)"', first).group(1)
    poll = client.get(f"/boards/{board_id}/columns?since={fingerprint}", headers=HTMX)
    assert poll.status_code == 204
    add(client, board_id, "new elsewhere")
    poll = client.get(f"/boards/{board_id}/columns?since={fingerprint}", headers=HTMX)
    assert poll.status_code == 200 and "new elsewhere" in poll.text
    assert "HX-Replace-Url" not in poll.headers


# -- isolation: another user's board or task is "not found" for every route --------------

BOARD_ROUTES = [
    ("GET", "/boards/{b}"),
    ("GET", "/boards/{b}/columns"),
    ("GET", "/boards/{b}/card"),
    ("GET", "/boards/{b}/rename"),
    ("POST", "/boards/{b}/rename"),
    ("POST", "/boards/{b}/delete"),
    ("POST", "/boards/{b}/tasks"),
    ("POST", "/boards/{b}/tasks/restore"),
    ("POST", "/boards/{b}/intro"),
]
TASK_ROUTES = [
    ("GET", "/boards/{b}/tasks/{t}"),
    ("GET", "/boards/{b}/tasks/{t}/edit"),
    ("POST", "/boards/{b}/tasks/{t}"),
    ("POST", "/boards/{b}/tasks/{t}/move"),
    ("POST", "/boards/{b}/tasks/{t}/delete"),
    ("GET", "/boards/{b}/tasks/{t}/quick"),
    ("POST", "/boards/{b}/tasks/{t}/quick"),
]
FORM = {"title": "mine", "name": "mine", "status": "pending", "priority": "low", "version": "1"}


@pytest.fixture
def mallorys(app, auth, alice):
    """Mallory's board and task, while alice is logged in."""
    auth.create("mallory")
    with app.app_context():
        from webapp.models import User

        session = get_session()
        mallory = session.scalar(select(User).where(User.username == "mallory"))
        task_in = TaskCreate(title="secret")
        task = task_service.create_task(session=session, user=mallory, task_in=task_in)
        return task.board_id, task.id


@pytest.mark.parametrize(("method", "route"), BOARD_ROUTES + TASK_ROUTES)
def test_other_users_things_are_not_found(client, app, mallorys, method, route):
    board, task = mallorys
    url = route.format(b=board, t=task)
    response = client.open(url, method=method, data=FORM, headers=HTMX)
    assert response.status_code == 404
    with app.app_context():
        kept = get_session().get(Task, task)
        assert (kept.title, kept.status) == ("secret", "pending")


@pytest.mark.parametrize(("method", "route"), TASK_ROUTES)
def test_own_board_with_other_users_task_is_not_found(client, mallorys, board_id, method, route):
    _, task = mallorys
    url = route.format(b=board_id, t=task)
    assert client.open(url, method=method, data=FORM, headers=HTMX).status_code == 404


# -- one source for templates, values and validation ---------------------------------------


def test_no_page_is_rendered_from_a_string():
    """Partials are templates of their own (contact-app's way), never template strings."""
    webapp = Path(__file__).resolve().parents[2] / "webapp"
    users = [p for p in webapp.rglob("*.py") if "render_template_string" in p.read_text()]
    assert users == []


def test_partials_render_alone_for_htmx(client, app, board_id):
    add(client, board_id, "alone")
    (task_id,) = task_ids(app, board_id)
    card = client.get(f"/boards/{board_id}/tasks/{task_id}", headers=HTMX)
    assert card.text.lstrip().startswith('<li class="task') and "alone" in card.text
    board_card = client.get(f"/boards/{board_id}/card", headers=HTMX).text
    assert board_card.lstrip().startswith("<article") and "1 pending" in board_card
    columns = client.get(f"/boards/{board_id}/columns", headers=HTMX).text
    assert columns.lstrip().startswith('<div id="board-columns"') and "<html" not in columns


def test_values_in_pages_come_from_the_model(client, board_id):
    page = client.get(f"/boards/{board_id}").text
    filter_options = re.findall(r'<option value="(\w+)"', page.split('id="filter-priority"')[1])
    assert filter_options == list(reversed(PRIORITIES))  # most urgent first
    for status in STATUSES:
        assert f'data-testid="column-{status}"' in page
    assert f'maxlength="{TITLE_MAX}"' in page and f'maxlength="{LABEL_MAX}"' in page


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (",".join(f"l{i}" for i in range(11)), "Up to 10 labels"),
        ("x" * 31, "each 1 to 30 characters"),
    ],
)
def test_edit_with_bad_labels_says_the_rule(client, app, board_id, labels, message):
    add(client, board_id, "draft")
    (task_id,) = task_ids(app, board_id)
    data = {"title": "ok", "priority": "low", "status": "pending", "version": "1"}
    response = client.post(
        f"/boards/{board_id}/tasks/{task_id}", data={**data, "labels": labels}, headers=HTMX
    )
    assert response.status_code == 422
    assert 'id="labels-error"' in response.text and message in response.text
    with app.app_context():
        assert get_session().get(Task, task_id).labels == []


def test_nul_in_a_title_is_refused(client, app, board_id):
    """Refused for every form before any view runs (webapp.hardening): no browser can type
    one, and PostgreSQL cannot store it."""
    response = client.post(
        f"/boards/{board_id}/tasks", data={"title": "a\x00b", "status": "pending"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "NUL character" in response.text
    assert task_ids(app, board_id) == []


# -- quick like Trello: bottom of the column, quick controls, one-click done, help ---------


def test_quick_controls_save_one_field_each(client, app, board_id):
    add(client, board_id, "tweak me")
    (task_id,) = task_ids(app, board_id)
    url = f"/boards/{board_id}/tasks/{task_id}/quick"
    opened = client.get(url, headers=HTMX).text
    for control in ("quick-priority", "quick-due", "quick-labels"):
        assert f'id="{control}-{task_id}"' in opened
    assert 'aria-label="Close quick edit"' in opened
    card = client.post(url, data={"priority": "urgent"}, headers=HTMX)
    assert card.status_code == 200 and "prio-badge prio-urgent" in card.text
    assert "quick-priority" in card.text  # the controls stay open
    client.post(url, data={"due_date": "2026-12-31"}, headers=HTMX)
    client.post(url, data={"labels": "home, Errand,home"}, headers=HTMX)
    with app.app_context():
        task = get_session().get(Task, task_id)
        assert (task.priority, str(task.due_date), task.labels) == (
            "urgent", "2026-12-31", ["home", "Errand"]
        )  # fmt: skip
        assert task.title == "tweak me" and task.version == 4
    client.post(url, data={"due_date": ""}, headers=HTMX)
    with app.app_context():
        assert get_session().get(Task, task_id).due_date is None


@pytest.mark.parametrize(
    ("data", "field"), [({"due_date": "31/12/2026"}, "due"), ({"labels": "x" * 31}, "labels")]
)
def test_quick_controls_refuse_bad_values_in_place(client, app, board_id, data, field):
    add(client, board_id, "keep")
    (task_id,) = task_ids(app, board_id)
    response = client.post(f"/boards/{board_id}/tasks/{task_id}/quick", data=data, headers=HTMX)
    assert response.status_code == 422
    assert f'id="quick-{field}-error-{task_id}"' in response.text
    with app.app_context():
        task = get_session().get(Task, task_id)
        assert (task.due_date, task.labels, task.version) == (None, [], 1)


def test_done_is_one_click_to_the_end_of_completed(client, app, board_id):
    add(client, board_id, "earlier")
    client.post(
        f"/boards/{board_id}/tasks/{task_ids(app, board_id)[0]}/move",
        data={"status": "completed"},
        headers=HTMX,
    )
    add(client, board_id, "finish me")
    (task_id,) = task_ids(app, board_id)
    page = client.get(f"/boards/{board_id}/columns", headers=HTMX).text
    card = page.split(f'id="task-{task_id}"')[1].split("</li>")[0]
    assert 'aria-label="Done"' in card and '{"status": "completed"}' in card
    response = client.post(
        f"/boards/{board_id}/tasks/{task_id}/move", data={"status": "completed"}, headers=HTMX
    )
    assert f'data-focus="task-{task_id}"' in response.text
    assert task_ids(app, board_id, "completed")[-1] == task_id
    done_card = response.text.split(f'id="task-{task_id}"')[1].split("</li>")[0]
    assert 'aria-label="Done"' not in done_card


def test_first_visit_explains_the_board_until_dismissed(client, board_id):
    page = client.get(f"/boards/{board_id}").text
    assert "How this board works" in page and "Got it" in page
    dismissed = client.post(f"/boards/{board_id}/intro", headers=HTMX)
    assert dismissed.status_code == 200 and dismissed.text == ""
    assert "boards_intro=seen" in dismissed.headers["Set-Cookie"]
    assert "How this board works" not in client.get(f"/boards/{board_id}").text
    plain = client.post(f"/boards/{board_id}/intro")
    assert plain.status_code == 302 and plain.headers["Location"] == f"/boards/{board_id}"


def test_board_lists_its_shortcuts_and_phone_column_tabs(client, board_id):
    page = client.get(f"/boards/{board_id}").text
    assert "Keyboard shortcuts" in page
    for key in ("n", "/", "j", "d", "q", "?"):
        assert f"<kbd>{key}</kbd>" in page
    assert 'aria-label="Columns"' in page and "Swipe sideways" in page
    for status in STATUSES:
        assert f'href="#column-{status}"' in page and f'id="column-{status}"' in page
