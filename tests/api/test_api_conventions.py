"""What holds for every API route: JSON errors of one shape, trailing slashes without
redirects, no CSRF for bearer-token clients."""

from __future__ import annotations

import re

import pytest

from webapp.api.routing import OPERATIONS, openapi_path


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.parametrize(
    "url", ["/api/v1/nothing-here", "/api/v1/users/42", "/api/nothing", "/api/v2/users/me"]
)
def test_unknown_api_url_is_json_404(client, url):
    assert assert_error_shape(client.get(url), 404)["code"] == "not_found"


def test_wrong_method_is_json_405_with_allow(client):
    response = client.get("/api/v1/auth/login")
    assert assert_error_shape(response, 405)["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    assert assert_error_shape(client.post("/api/v1/users/me/"), 405)["code"] == "method_not_allowed"


class TestBodyLimit:
    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": 1024 * 1024}

    def test_too_large_body_is_json_413(self, client):
        big = '{"email": "' + "a" * (1024 * 1024 + 10) + '"}'
        response = client.post("/api/v1/auth/register", data=big, content_type="application/json")
        error = assert_error_shape(response, 413)
        assert error["code"] == "payload_too_large"
        assert "1 MB" in error["message"]


def test_unexpected_error_is_json_500(app, client, caplog):
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/_boom", "boom", boom)
    response = client.get("/api/v1/_boom")
    error = assert_error_shape(response, 500)
    assert error["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text  # logged for the operator instead


def test_auth_errors_carry_www_authenticate(client):
    response = client.get("/api/v1/users/me")
    assert assert_error_shape(response, 401)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_validation_error_details_name_field_and_location(client):
    response = client.post("/api/v1/auth/register", json={"email": 1})
    error = assert_error_shape(response, 422)
    assert error["code"] == "validation_error"
    for detail in error["details"]:
        assert {"field", "location", "message", "type"} <= set(detail)
        assert detail["location"] == "body"
    assert {d["field"] for d in error["details"]} == {"email", "username", "password"}


# Every operation, with and without a trailing slash: never a redirect (a redirected POST
# loses its body in many clients), and the same handler answers both.
@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[f"{op.method.upper()} {op.rule}" for op in OPERATIONS]
)
def test_every_operation_answers_both_slash_forms_without_redirect(client, operation):
    path, _ = openapi_path(operation.rule)
    url = re.sub(r"\{\w+\}", "1", path)
    for variant in (url, url + "/"):
        response = client.open(variant, method=operation.method.upper(), json={})
        assert response.status_code not in (301, 302, 307, 308), variant
        assert response.status_code != 405, variant
        assert response.status_code < 500, variant
        if response.status_code >= 400:
            assert_error_shape(response, response.status_code)


def test_docs_page_answers_both_slash_forms(client):
    assert client.get("/api/docs").status_code == 200
    assert client.get("/api/docs/").status_code == 200


class TestCsrfEnabled:
    """The browser app enforces CSRF; bearer-token API clients are exempt."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_api_posts_need_no_csrf_token(self, client, api):
        response = api.register("alice")
        assert response.status_code == 201
        assert api.login("alice").status_code == 200


def test_unknown_fields_are_documented_as_ignored(client):
    description = client.get("/api/v1/openapi.json").get_json()["info"]["description"]
    assert "unknown fields" in description.lower()


INT_PATH_OPERATIONS = [op for op in OPERATIONS if "<int:" in op.rule]


@pytest.mark.parametrize(
    "operation",
    INT_PATH_OPERATIONS,
    ids=[f"{op.method.upper()} {op.rule}" for op in INT_PATH_OPERATIONS],
)
@pytest.mark.parametrize("value", ["0", str(2**31), str(2**63), "9" * 40])
def test_out_of_range_ids_are_404_not_500(client, user_headers, operation, value):
    path, _ = openapi_path(operation.rule)
    url = re.sub(r"\{\w+\}", value, path)
    response = client.open(url, method=operation.method.upper(), json={}, headers=user_headers)
    assert response.status_code in (404, 422), response.get_json()
    assert_error_shape(response, response.status_code)
