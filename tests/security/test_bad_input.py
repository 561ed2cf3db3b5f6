"""Issue 11 #11: input that answered 500 answers a precise 4xx, checked across every
operation rather than one endpoint at a time (the fixes are in the shared parsing:
webapp.hardening and webapp.api.routing)."""

from __future__ import annotations

import io
import json

import pytest

from webapp.api.routing import OPERATIONS, openapi_path
from webapp.api.schemas import PageQuery
from webapp.downloads import attachment

DEEP = "[" * 100_000 + "]" * 100_000


def concrete(rule: str) -> str:
    path, params = openapi_path(rule)
    for name, _ in params:
        path = path.replace("{" + name + "}", "1")
    return path


JSON_BODY_OPERATIONS = [
    op
    for op in OPERATIONS
    if op.body is not None
    and (op.request_content is None or "application/json" in op.request_content)
]
LIST_OPERATIONS = [
    op
    for op in OPERATIONS
    if op.query is not None and issubclass(op.query, PageQuery) and op.method == "get"
]


def test_the_operation_lists_are_not_empty():
    assert len(JSON_BODY_OPERATIONS) >= 10 and len(LIST_OPERATIONS) >= 4


@pytest.mark.parametrize("op", JSON_BODY_OPERATIONS, ids=lambda op: f"{op.method} {op.rule}")
@pytest.mark.parametrize(
    "body", [DEEP, '{"a":' * 5000 + "1" + "}" * 5000, '{"x": ' + "[" * 40 + "]" * 40 + "}"]
)
def test_deeply_nested_json_is_a_400_everywhere(client, user_headers, op, body):
    headers = (
        {**user_headers, "Content-Type": "application/json"}
        if op.auth
        else {"Content-Type": "application/json"}
    )
    response = client.open(concrete(op.rule), method=op.method.upper(), data=body, headers=headers)
    assert response.status_code == 400, (op.rule, response.get_data(as_text=True)[:300])
    assert "nested deeper" in response.get_json()["error"]["message"]


def test_deeply_nested_json_is_a_400_for_browser_json_too(client):
    """Not only the API's parser: any request.get_json() in the app is bounded."""
    from flask import request

    app = client.application
    with app.test_request_context("/", method="POST", data=DEEP, content_type="application/json"):
        assert request.get_json(silent=True) is None


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=lambda op: op.rule)
@pytest.mark.parametrize("offset", [2**63, 2**63 - 1, 2**31, 10**30])
def test_huge_offsets_are_a_422_on_every_list(client, user_headers, op, offset):
    response = client.get(concrete(op.rule), query_string={"offset": offset}, headers=user_headers)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["details"][0]["field"] == "offset"


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=lambda op: op.rule)
def test_a_nul_in_any_query_string_is_a_422(client, user_headers, op):
    response = client.get(concrete(op.rule) + "?name=a%00b", headers=user_headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "name"


def test_a_nul_in_the_log_in_field_is_a_422(client):
    response = client.post("/api/v1/auth/login", json={"username": "al\0ice", "password": "x"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "username"
    browser = client.post("/auth/login", data={"login": "al\0ice", "password": "x"})
    assert browser.status_code == 422


def test_a_nul_in_a_json_key_or_nested_value_names_the_field(client, user_headers):
    response = client.post("/api/v1/boards", json={"name": "ok", "x\0": 1}, headers=user_headers)
    assert response.status_code == 422
    response = client.post("/api/v1/boards", json={"name": "b\0ard"}, headers=user_headers)
    assert response.get_json()["error"]["details"][0]["field"] == "name"


def test_a_nul_in_a_utf16_json_body_is_a_422_and_an_escaped_backslash_is_not_a_nul(
    client, user_headers
):
    """The walk over the values is skipped when the raw body holds neither the escape
    ``\\u0000`` nor a zero byte: UTF-16 text (zero bytes) is still walked, and text that
    only looks like the escape is a plain name."""
    body = json.dumps({"name": "ok", "x\0": 1}).encode("utf-16")  # a key no schema checks
    headers = {**user_headers, "Content-Type": "application/json"}
    response = client.post("/api/v1/boards", data=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["type"] == "string_nul"
    response = client.post(
        "/api/v1/boards", json={"name": "not \\u0000 a nul"}, headers=user_headers
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "not \\u0000 a nul"


@pytest.mark.parametrize(
    ("data", "depth"),
    [(1, 0), ("x", 0), ({}, 1), ([], 1), ([[]], 2), ({"a": [{"b": 1}, 2]}, 3), ([1, [2, [3]]], 3)],
)
def test_json_depth_counts_nested_lists_and_objects(data, depth):
    from webapp.hardening import json_depth

    assert json_depth(data) == depth


CSV = b"a,b\n1,2\n3,4\n"


@pytest.mark.parametrize(
    ("form", "filename", "field"),
    [
        ({"name": "data\0set"}, "ok.csv", "name"),
        ({"encoding": "utf-8\0"}, "ok.csv", "encoding"),
        ({}, "bad\0name.csv", "file"),
    ],
)
def test_a_nul_in_an_upload_is_a_422_not_a_500(client, user_headers, form, filename, field):
    data = {**form, "file": (io.BytesIO(CSV), filename)}
    response = client.post(
        "/api/v1/datasets", data=data, headers=user_headers, content_type="multipart/form-data"
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["details"][0]["field"] == field


def test_a_nul_in_the_browser_upload_is_refused(client, auth):
    auth.signup_and_login()
    data = {"name": "x\0y", "file": (io.BytesIO(CSV), "ok.csv")}
    response = client.post("/datasets/", data=data, content_type="multipart/form-data")
    assert response.status_code == 422


@pytest.mark.parametrize("value", [False, True, "1", 1.0])
def test_json_types_are_strict(client, user_headers, value):
    """``"position": false`` was a position 0; strings, floats and booleans are not integers."""
    board = client.post("/api/v1/boards", json={"name": "b"}, headers=user_headers).get_json()
    task = client.post(
        "/api/v1/tasks", json={"board_id": board["id"], "title": "t"}, headers=user_headers
    ).get_json()
    response = client.post(
        f"/api/v1/tasks/{task['id']}/move",
        json={"status": "pending", "position": value},
        headers=user_headers,
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "position"


def test_dates_still_come_as_strings_in_strict_json(client, user_headers):
    board = client.post("/api/v1/boards", json={"name": "b"}, headers=user_headers).get_json()
    response = client.post(
        "/api/v1/tasks",
        json={"board_id": board["id"], "title": "t", "due_date": "2030-01-31"},
        headers=user_headers,
    )
    assert response.status_code == 201
    assert response.get_json()["due_date"] == "2030-01-31"


@pytest.mark.parametrize("name", ["two\r\nlines", "tab\there", "bell\x07", "new\nline"])
def test_a_download_name_with_control_characters_is_a_valid_header(app, name):
    """A data set named with CR/LF broke clusters.csv (the name becomes the file name)."""
    with app.test_request_context():
        response = attachment("a,b\n", f"{name}-clusters.csv", "text/csv")
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("attachment;")
    response.close()
