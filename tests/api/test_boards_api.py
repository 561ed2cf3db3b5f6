"""Boards over the API: CRUD, validation, isolation, and the task cascade."""

from __future__ import annotations

import pytest

BOARDS = "/api/v1/boards"


def test_list_has_default_board(client, user_headers):
    body = client.get(BOARDS, headers=user_headers).get_json()
    assert body["total"] == 1 and (body["limit"], body["offset"]) == (50, 0)
    board = body["items"][0]
    assert board["name"] == "My board"
    assert board["task_counts"] == {"pending": 0, "in_progress": 0, "completed": 0}


def test_create_get_update_delete(client, user_headers):
    response = client.post(
        BOARDS, json={"name": " Work ", "description": "Job"}, headers=user_headers
    )
    assert response.status_code == 201
    board = response.get_json()
    assert board["name"] == "Work"
    url = f"{BOARDS}/{board['id']}"
    client.post("/api/v1/tasks", json={"title": "t", "board_id": board["id"]}, headers=user_headers)
    got = client.get(url, headers=user_headers).get_json()
    assert got["task_counts"]["pending"] == 1
    patched = client.patch(url, json={"name": "Jobs"}, headers=user_headers).get_json()
    assert (patched["name"], patched["description"]) == ("Jobs", "Job")
    assert client.delete(url, headers=user_headers).status_code == 204
    assert client.get(url, headers=user_headers).status_code == 404
    tasks = client.get("/api/v1/tasks", headers=user_headers).get_json()
    assert tasks["total"] == 0  # its tasks went with it


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": 5}]
)
def test_create_rejects_bad_names(client, user_headers, body):
    response = client.post(BOARDS, json=body, headers=user_headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "name"
    assert client.get(BOARDS, headers=user_headers).get_json()["total"] == 1


def test_patch_rejects_empty_name(client, user_headers):
    board_id = client.get(BOARDS, headers=user_headers).get_json()["items"][0]["id"]
    response = client.patch(f"{BOARDS}/{board_id}", json={"name": ""}, headers=user_headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)]
)
def test_other_users_board_is_not_found(client, user_headers, other_headers, method, body):
    theirs = client.get(BOARDS, headers=other_headers).get_json()["items"][0]["id"]
    response = client.open(f"{BOARDS}/{theirs}", method=method, json=body, headers=user_headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    still = client.get(f"{BOARDS}/{theirs}", headers=other_headers).get_json()
    assert still["name"] == "My board"


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1", "limit=abc"])
def test_pagination_limits_are_refused(client, user_headers, query):
    response = client.get(f"{BOARDS}?{query}", headers=user_headers)
    assert response.status_code == 422


def test_pagination(client, user_headers):
    client.get(BOARDS, headers=user_headers)  # the default board, made on first need
    for i in range(3):
        client.post(BOARDS, json={"name": f"b{i}"}, headers=user_headers)
    body = client.get(f"{BOARDS}?limit=2&offset=1", headers=user_headers).get_json()
    assert body["total"] == 4 and [b["name"] for b in body["items"]] == ["b0", "b1"]


def test_requires_token(client):
    assert client.get(BOARDS).status_code == 401
