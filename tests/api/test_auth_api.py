"""POST /api/v1/auth/register, /login, /refresh, /logout."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.utils.auth import DEFAULT_PASSWORD, create_user
from webapp.db import get_session
from webapp.models import RefreshToken, User

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


def new_user(**overrides) -> dict:
    return {
        "email": "alice@example.com",
        "username": "alice",
        "password": DEFAULT_PASSWORD,
    } | overrides


def user_count(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(User))


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    return error


def fields(error: dict) -> set[str]:
    return {detail["field"] for detail in error["details"]}


# -- register ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [REGISTER, REGISTER + "/"])
def test_register_returns_the_public_user(client, app, url):
    response = client.post(url, json=new_user(email="Alice@Example.COM"))
    assert response.status_code == 201  # also with a trailing slash: no 308 redirect
    body = response.get_json()
    assert set(body) == {"id", "email", "username", "is_active", "created_at"}
    assert body["email"] == "alice@example.com"
    assert body["username"] == "alice"
    assert body["is_active"] is True
    assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]
    assert "password" not in response.get_data(as_text=True)
    assert user_count(app) == 1


def test_registered_user_can_log_in(client):
    client.post(REGISTER, json=new_user())
    response = client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("taken", "field"),
    [
        ({"email": "ALICE@example.com", "username": "other"}, "email"),
        ({"email": "other@example.com", "username": "ALICE"}, "username"),
    ],
)
def test_register_duplicate_is_409_naming_the_field(client, app, taken, field):
    assert client.post(REGISTER, json=new_user()).status_code == 201
    error = assert_error(client.post(REGISTER, json=new_user(**taken)), 409, "conflict")
    assert fields(error) == {field}
    assert user_count(app) == 1


def test_register_duplicate_email_and_username_names_both(client):
    client.post(REGISTER, json=new_user())
    error = assert_error(client.post(REGISTER, json=new_user()), 409, "conflict")
    assert fields(error) == {"email", "username"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "alice@"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"username": "al"}, "username"),
        ({"username": "a" * 33}, "username"),
        ({"username": "alice smith"}, "username"),
        ({"username": "al@ce"}, "username"),
        ({"password": "short7!"}, "password"),  # 7 characters
        ({"password": "a" * 73}, "password"),  # 73 ASCII bytes
        ({"password": "é" * 37}, "password"),  # 37 characters but 74 bytes
        ({"password": "密码" * 13}, "password"),  # 26 characters, 78 bytes
        ({"password": 12345678}, "password"),
        ({"email": None}, "email"),
    ],
)
def test_register_invalid_field_is_422(client, app, overrides, field):
    error = assert_error(client.post(REGISTER, json=new_user(**overrides)), 422, "validation_error")
    assert field in fields(error)
    assert user_count(app) == 0  # nothing half-written


def test_register_accepts_passwords_of_exactly_8_chars_and_72_bytes(client):
    ok = client.post(REGISTER, json=new_user(password="a" * 72))
    assert ok.status_code == 201
    eight = client.post(
        REGISTER, json=new_user(email="b@example.com", username="bob", password="8chars!!")
    )
    assert eight.status_code == 201
    multibyte = client.post(
        REGISTER, json=new_user(email="c@example.com", username="carol", password="é" * 36)
    )  # 72 bytes
    assert multibyte.status_code == 201


def test_register_missing_fields_are_all_named(client):
    error = assert_error(client.post(REGISTER, json={}), 422, "validation_error")
    assert fields(error) == {"email", "username", "password"}
    assert all(detail["location"] == "body" for detail in error["details"])


def test_register_ignores_unknown_fields(client):
    body = new_user(id=999, is_active=False, password_hash="x", is_admin=True)
    response = client.post(REGISTER, json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert created["id"] != 999
    assert created["is_active"] is True


def test_register_malformed_json_is_400(client, app):
    response = client.post(REGISTER, data='{"email": ', content_type="application/json")
    assert_error(response, 400, "bad_request")
    assert user_count(app) == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (
            "email=a@example.com&username=alice&password=correct-horse",
            "application/x-www-form-urlencoded",
        ),
        ("hello", "text/plain"),
        ("", None),
    ],
)
def test_register_wrong_content_type_is_415(client, data, content_type):
    response = client.post(REGISTER, data=data, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "42", "null"])
def test_register_json_that_is_not_an_object_is_rejected(client, payload):
    response = client.post(REGISTER, data=payload, content_type="application/json")
    assert response.status_code in (400, 422)
    assert "error" in response.get_json()


# -- login ---------------------------------------------------------------------------------


def assert_token_pair(body: dict, app) -> None:
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == app.config["ACCESS_TOKEN_MINUTES"] * 60
    assert body["access_token"] != body["refresh_token"]


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", "Alice@Example.com"])
def test_login_json_by_username_or_email(client, app, login):
    create_user(app, "alice")
    response = client.post(LOGIN, json={"username": login, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert_token_pair(response.get_json(), app)


@pytest.mark.parametrize("url", [LOGIN, LOGIN + "/", "/api/v1/auth/token"])
def test_login_with_oauth2_form_fields(client, app, url):
    create_user(app, "alice")
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": DEFAULT_PASSWORD,
        "scope": "",
    }
    response = client.post(url, data=form)
    assert response.status_code == 200
    assert_token_pair(response.get_json(), app)


def test_login_access_token_works_on_users_me(client, app):
    create_user(app, "alice")
    tokens = client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD}).get_json()
    me = client.get(ME, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "alice"


def test_wrong_password_and_unknown_user_get_the_same_401(client, app):
    create_user(app, "alice")
    wrong = client.post(LOGIN, json={"username": "alice", "password": "not-the-password"})
    unknown = client.post(LOGIN, json={"username": "nobody", "password": "not-the-password"})
    for response in (wrong, unknown):
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.get_json() == unknown.get_json()


def test_wrong_password_by_form_is_the_same_401(client, app):
    create_user(app, "alice")
    form = client.post(LOGIN, data={"username": "alice", "password": "nope-nope"})
    json_ = client.post(LOGIN, json={"username": "alice", "password": "nope-nope"})
    assert form.status_code == json_.status_code == 401
    assert form.get_json() == json_.get_json()


def test_login_with_overlong_password_is_401_not_500(client, app):
    create_user(app, "alice")
    response = client.post(LOGIN, json={"username": "alice", "password": "x" * 100})
    assert_error(response, 401, "unauthorized")


def test_inactive_user_cannot_log_in(client, app):
    user_id = create_user(app, "alice")
    with app.app_context():
        session = get_session()
        session.get(User, user_id).is_active = False
        session.commit()
    response = client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD})
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "body", [{}, {"username": "alice"}, {"password": "x"}, {"username": "", "password": ""}]
)
def test_login_missing_credentials_is_422(client, body):
    assert_error(client.post(LOGIN, json=body), 422, "validation_error")


def test_login_form_missing_password_is_422(client):
    error = assert_error(client.post(LOGIN, data={"username": "alice"}), 422, "validation_error")
    assert fields(error) == {"password"}


def test_login_malformed_json_is_400_and_other_types_415(client):
    assert_error(client.post(LOGIN, data="{", content_type="application/json"), 400, "bad_request")
    response = client.post(LOGIN, data="alice:pw", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


class TestLoginRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_RATE_LIMIT": "3 per minute"}

    def test_failed_logins_are_limited_with_retry_after(self, client, app):
        create_user(app, "alice")
        bad = {"username": "alice", "password": "wrong-password"}
        for _ in range(3):
            assert client.post(LOGIN, json=bad).status_code == 401
        response = client.post(LOGIN, json=bad)
        assert_error(response, 429, "too_many_requests")
        assert int(response.headers["Retry-After"]) > 0
        # Even the right password waits now: otherwise the limit would not stop guessing.
        good = client.post(LOGIN, json={"username": "alice", "password": DEFAULT_PASSWORD})
        assert good.status_code == 429

    def test_successful_logins_do_not_count(self, client, app):
        create_user(app, "alice")
        good = {"username": "alice", "password": DEFAULT_PASSWORD}
        for _ in range(6):
            assert client.post(LOGIN, json=good).status_code == 200

    def test_form_and_json_attempts_share_the_limit(self, client, app):
        create_user(app, "alice")
        client.post(LOGIN, json={"username": "alice", "password": "wrong-1"})
        client.post(LOGIN, data={"username": "alice", "password": "wrong-2"})
        client.post(LOGIN + "/", json={"username": "nobody", "password": "wrong-3"})
        assert client.post(LOGIN, data={"username": "x", "password": "y"}).status_code == 429


# -- refresh and logout --------------------------------------------------------------------


@pytest.fixture
def tokens(api) -> dict:
    return api.tokens("alice")


def test_refresh_rotates_the_refresh_token(client, app, tokens):
    response = client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200
    new = response.get_json()
    assert_token_pair(new, app)
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (
        client.get(ME, headers={"Authorization": f"Bearer {new['access_token']}"}).status_code
        == 200
    )
    # The new one works once (with a trailing slash too), then the next one...
    newer = client.post(REFRESH + "/", json={"refresh_token": new["refresh_token"]})
    assert newer.status_code == 200
    # ... while the old one, revoked by the rotation, is refused.
    again = client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert_error(again, 401, "unauthorized")


def test_access_token_is_not_a_refresh_token(client, tokens):
    response = client.post(REFRESH, json={"refresh_token": tokens["access_token"]})
    error = assert_error(response, 401, "unauthorized")
    assert "refresh" in error["message"]
    assert_error(
        client.post(LOGOUT, json={"refresh_token": tokens["access_token"]}), 401, "unauthorized"
    )


def test_refresh_token_is_not_an_access_token(client, tokens):
    response = client.get(ME, headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_refresh_with_a_bad_token(client, token):
    response = client.post(REFRESH, json={"refresh_token": token})
    assert response.status_code in (401, 422)
    assert "error" in response.get_json()


@pytest.mark.parametrize("url", [LOGOUT, LOGOUT + "/"])
def test_logout_revokes_the_refresh_token(client, app, tokens, url):
    response = client.post(url, json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(
        client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}), 401, "unauthorized"
    )
    assert_error(
        client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]}), 401, "unauthorized"
    )
    with app.app_context():
        stored = get_session().scalars(select(RefreshToken)).all()
        assert [token.revoked_at is not None for token in stored] == [True]


def test_logout_needs_a_json_body(client, tokens):
    assert_error(client.post(LOGOUT), 415, "unsupported_media_type")
    assert_error(client.post(LOGOUT, json={}), 422, "validation_error")


def test_refresh_of_a_deleted_user_is_401(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    body = {"current_password": DEFAULT_PASSWORD}
    assert client.delete(ME, json=body, headers=headers).status_code == 204
    assert_error(
        client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}), 401, "unauthorized"
    )


def test_the_token_endpoint_takes_form_fields_only(client, app):
    create_user(app, "alice")
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": "x"})
    assert_error(response, 415, "unsupported_media_type")
