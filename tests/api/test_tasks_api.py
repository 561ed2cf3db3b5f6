"""Tasks over the API: CRUD, filters, pagination, ETag/If-Match, moves, isolation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

TASKS = "/api/v1/tasks"


@pytest.fixture
def new_task(client, user_headers):
    def make(**fields):
        fields.setdefault("title", "A task")
        response = client.post(TASKS, json=fields, headers=user_headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def listing(client, headers, query=""):
    response = client.get(f"{TASKS}?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_create_with_title_only(client, user_headers):
    response = client.post(TASKS, json={"title": "Learn Flask"}, headers=user_headers)
    assert response.status_code == 201
    task = response.get_json()
    default_board = client.get("/api/v1/boards", headers=user_headers).get_json()["items"][0]
    assert task["board_id"] == default_board["id"]
    assert {k: task[k] for k in ("title", "priority", "status", "labels", "position")} == {
        "title": "Learn Flask",
        "priority": "medium",
        "status": "pending",
        "labels": [],
        "position": 0,
    }
    assert task["is_completed"] is False and task["version"] == 1
    assert task["completed_at"] is None and task["due_date"] is None
    assert response.headers["ETag"] == f'W/"{task["id"]}-1"'
    assert set(task) == {
        "id", "board_id", "owner_id", "title", "description", "priority", "status", "labels",
        "due_date", "position", "is_completed", "created_at", "updated_at", "completed_at",
        "version",
    }  # fmt: skip


def test_create_full(new_task):
    task = new_task(
        title="Ship",
        description="v1",
        priority="urgent",
        status="completed",
        due_date="2026-12-31",
        labels=["work", "Work", "release"],
    )
    assert task["labels"] == ["work", "release"]
    assert task["is_completed"] and task["completed_at"] is not None
    assert task["due_date"] == "2026-12-31"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "x" * 10_001}, "description"),
        ({"title": "ok", "priority": "critical"}, "priority"),
        ({"title": "ok", "status": "done"}, "status"),
        ({"title": "ok", "due_date": "31/12/2026"}, "due_date"),
        ({"title": "ok", "due_date": "2026-02-30"}, "due_date"),
        ({"title": "ok", "labels": ["a,b"]}, "labels.0"),
        ({"title": "ok", "labels": [f"l{i}" for i in range(11)]}, "labels"),
        ({"title": "ok", "board_id": 99999}, "board_id"),
        ({"title": "ok", "board_id": 2**40}, "board_id"),
        ({"title": "nul\x00"}, "title"),
        ({"title": "ok", "due_date": 0}, "due_date"),
    ],
)
def test_create_rejects_bad_input(client, user_headers, body, field):
    response = client.post(TASKS, json=body, headers=user_headers)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]]
    assert listing(client, user_headers)["total"] == 0


def test_create_on_other_users_board_is_unknown_board(client, user_headers, other_headers):
    theirs = client.get("/api/v1/boards", headers=other_headers).get_json()["items"][0]["id"]
    response = client.post(TASKS, json={"title": "x", "board_id": theirs}, headers=user_headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "board_id"


def test_get_put_patch_delete(client, user_headers, new_task):
    task = new_task(title="a", labels=["x"], due_date="2026-12-31")
    url = f"{TASKS}/{task['id']}"
    got = client.get(url, headers=user_headers)
    assert got.get_json() == task and got.headers["ETag"] == f'W/"{task["id"]}-1"'

    patched = client.patch(url, json={"priority": "high"}, headers=user_headers).get_json()
    assert (patched["priority"], patched["labels"], patched["version"]) == ("high", ["x"], 2)
    cleared = client.patch(url, json={"due_date": None}, headers=user_headers).get_json()
    assert cleared["due_date"] is None

    put = client.put(url, json={"title": "b"}, headers=user_headers)
    replaced = put.get_json()
    assert put.status_code == 200 and put.headers["ETag"] == f'W/"{task["id"]}-4"'
    assert (replaced["title"], replaced["priority"], replaced["labels"]) == ("b", "medium", [])
    assert replaced["board_id"] == task["board_id"]

    assert client.delete(url, headers=user_headers).status_code == 204
    assert client.get(url, headers=user_headers).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"title": None}, {"title": ""}, {"status": None}, {"priority": "x"}, {"due_date": "no"}],
)
def test_patch_rejects_bad_input(client, user_headers, new_task, body):
    task = new_task()
    response = client.patch(f"{TASKS}/{task['id']}", json=body, headers=user_headers)
    assert response.status_code == 422
    after = client.get(f"{TASKS}/{task['id']}", headers=user_headers).get_json()
    assert after == task


def test_put_requires_title(client, user_headers, new_task):
    task = new_task()
    response = client.put(f"{TASKS}/{task['id']}", json={"priority": "low"}, headers=user_headers)
    assert response.status_code == 422


def test_status_change_sets_and_clears_completed_at(client, user_headers, new_task):
    url = f"{TASKS}/{new_task()['id']}"
    done = client.patch(url, json={"status": "completed"}, headers=user_headers).get_json()
    assert done["is_completed"] and done["completed_at"]
    back = client.patch(url, json={"status": "pending"}, headers=user_headers).get_json()
    assert not back["is_completed"] and back["completed_at"] is None


# -- conditional writes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", {"title": "mine"}),
        ("PUT", "", {"title": "mine"}),
        ("DELETE", "", None),
        ("POST", "/move", {"status": "completed"}),
    ],
)
def test_stale_if_match_is_412_and_changes_nothing(
    client, user_headers, new_task, method, path, body
):
    task = new_task()
    url = f"{TASKS}/{task['id']}"
    first = client.patch(
        url, json={"title": "theirs"}, headers={**user_headers, "If-Match": f'W/"{task["id"]}-1"'}
    )
    assert first.status_code == 200
    stale = {**user_headers, "If-Match": f'W/"{task["id"]}-1"'}
    response = client.open(url + path, method=method, json=body, headers=stale)
    assert response.status_code == 412
    assert response.get_json()["error"]["code"] == "precondition_failed"
    assert response.headers["ETag"] == f'W/"{task["id"]}-2"'
    after = client.get(url, headers=user_headers).get_json()
    assert (after["title"], after["status"], after["version"]) == ("theirs", "pending", 2)


@pytest.mark.parametrize("tag", ['W/"{id}-1"', '"{id}-1"', '"nope", W/"{id}-1"', "*"])
def test_matching_if_match_writes(client, user_headers, new_task, tag):
    task = new_task()
    headers = {**user_headers, "If-Match": tag.format(id=task["id"])}
    response = client.patch(f"{TASKS}/{task['id']}", json={"title": "ok"}, headers=headers)
    assert response.status_code == 200


def test_if_match_of_another_task_does_not_match(client, user_headers, new_task):
    a, b = new_task(), new_task()
    headers = {**user_headers, "If-Match": f'W/"{a["id"]}-1"'}
    assert client.delete(f"{TASKS}/{b['id']}", headers=headers).status_code == 412


# -- moves ---------------------------------------------------------------------------------


def test_move_and_dense_positions(client, user_headers, new_task):
    a, b, c = (new_task(title=t) for t in "abc")

    def column(status):
        items = listing(client, user_headers, f"status={status}")["items"]
        return [(t["title"], t["position"]) for t in items]

    moved = client.post(f"{TASKS}/{c['id']}/move", json={"position": 0}, headers=user_headers)
    assert moved.status_code == 200 and moved.headers["ETag"] == f'W/"{c["id"]}-2"'
    assert column("pending") == [("c", 0), ("a", 1), ("b", 2)]
    far = client.post(
        f"{TASKS}/{c['id']}/move",
        json={"status": "completed", "position": 99},
        headers=user_headers,
    ).get_json()
    assert (far["status"], far["position"], far["is_completed"]) == ("completed", 0, True)
    assert column("pending") == [("a", 0), ("b", 1)]
    client.post(f"{TASKS}/{a['id']}/move", json={"status": "completed"}, headers=user_headers)
    assert column("completed") == [("c", 0), ("a", 1)]


@pytest.mark.parametrize("body", [{"status": "done"}, {"position": -1}, {"position": "x"}])
def test_move_rejects_bad_input(client, user_headers, new_task, body):
    task = new_task()
    response = client.post(f"{TASKS}/{task['id']}/move", json=body, headers=user_headers)
    assert response.status_code == 422


# -- listing -------------------------------------------------------------------------------


def test_filters_sorting_and_pagination(client, user_headers, new_task):
    today = date.today()
    new_task(title="late", due_date=str(today - timedelta(days=2)), priority="low", labels=["Home"])
    new_task(title="soon", due_date=str(today + timedelta(days=1)), priority="urgent")
    new_task(title="Report", description="quarterly numbers", priority="high", status="in_progress")
    other = client.post("/api/v1/boards", json={"name": "B"}, headers=user_headers).get_json()
    new_task(title="elsewhere", board_id=other["id"])

    def names(query):
        return [t["title"] for t in listing(client, user_headers, query)["items"]]

    assert names("overdue=true") == ["late"]
    assert names("label=home") == ["late"]
    assert names("q=QUARTERLY") == ["Report"]
    assert names("priority=urgent&priority=high&sort=priority") == ["soon", "Report"]
    assert names(f"due_before={today}") == ["late"]
    assert names(f"due_after={today}") == ["soon"]
    assert names("status=in_progress") == ["Report"]
    assert names(f"board_id={other['id']}") == ["elsewhere"]
    assert names("sort=due_date") == ["late", "soon", "Report", "elsewhere"]
    assert names("sort=-created_at")[0] == "elsewhere"
    page = listing(client, user_headers, "limit=2&offset=1&sort=created_at")
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [t["title"] for t in page["items"]] == ["soon", "Report"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=201",
        "limit=0",
        "offset=-1",
        "status=done",
        "priority=critical",
        "sort=title",
        "due_before=yesterday",
        "overdue=maybe",
        "board_id=99999",
        "due_after=0",
    ],
)
def test_list_rejects_bad_queries(client, user_headers, query):
    response = client.get(f"{TASKS}?{query}", headers=user_headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]


def test_default_and_max_limit(client, user_headers):
    assert listing(client, user_headers)["limit"] == 50
    assert listing(client, user_headers, "limit=200")["limit"] == 200


# -- isolation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"title": "mine"}),
        ("PATCH", "", {"title": "mine"}),
        ("DELETE", "", None),
        ("POST", "/move", {"status": "completed"}),
    ],
)
def test_other_users_task_is_not_found(client, user_headers, other_headers, method, path, body):
    theirs = client.post(TASKS, json={"title": "secret"}, headers=other_headers).get_json()
    url = f"{TASKS}/{theirs['id']}"
    response = client.open(url + path, method=method, json=body, headers=user_headers)
    assert response.status_code == 404
    assert client.get(url, headers=other_headers).get_json() == theirs
    assert listing(client, user_headers)["total"] == 0


def test_requires_token(client):
    assert client.get(TASKS).status_code == 401
    assert client.post(TASKS, json={"title": "x"}).status_code == 401


def test_openapi_documents_tasks(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/tasks", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/move"):
        assert path in paths
    patch = paths["/api/v1/tasks/{task_id}"]["patch"]
    assert "412" in patch["responses"]
    assert "ETag" in patch["responses"]["200"]["headers"]
    assert "ETag" in paths["/api/v1/tasks"]["post"]["responses"]["201"]["headers"]
    names = {p["name"] for p in paths["/api/v1/tasks"]["get"]["parameters"]}
    assert {"board_id", "status", "priority", "label", "q", "due_before", "due_after"} <= names
    assert {"overdue", "sort", "limit", "offset"} <= names
    assert {"/api/v1/boards", "/api/v1/boards/{board_id}"} <= set(paths)


def test_schema_values_come_from_the_model(client):
    from webapp.models.board import PRIORITIES, STATUSES
    from webapp.services.task_views import SORTS

    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    create = schemas["TaskCreate"]["properties"]
    assert create["priority"]["enum"] == list(PRIORITIES)
    assert create["status"]["enum"] == list(STATUSES)
    parameters = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/tasks"]["get"]
    sort = next(p for p in parameters["parameters"] if p["name"] == "sort")
    assert sort["schema"]["enum"] == list(SORTS)


@pytest.mark.parametrize("header", ["", '"garbage"', 'W/"0-1"'])
def test_if_match_that_names_no_tag_of_the_task_is_412(client, user_headers, new_task, header):
    task = new_task()
    headers = {**user_headers, "If-Match": header}
    response = client.patch(f"{TASKS}/{task['id']}", json={"title": "x"}, headers=headers)
    assert response.status_code == 412 and response.headers["ETag"] == f'W/"{task["id"]}-1"'
