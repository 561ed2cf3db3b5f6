"""GET/PATCH/PUT/DELETE /api/v1/users/me, and every way a bearer token can be wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.utils.auth import DEFAULT_PASSWORD, create_user
from webapp.db import get_session
from webapp.models import Base, RefreshToken, User
from webapp.security import create_token, stamp_digest

ME = "/api/v1/users/me"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, *, secret: str | None = None, digest=hashlib.sha256) -> str:
    """A JWT assembled by hand, so any header (alg none, RS256 ...) can be sent."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b""
    if secret is not None:
        signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def stamp_of(user_id: int) -> str:
    return get_session().get(User, user_id).security_stamp


def claims_for(user_id: int, **overrides) -> dict:
    """Valid access-token claims for ``user_id`` (call inside an app context)."""
    now = int(datetime.now(UTC).timestamp())
    base = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + 600,
        "jti": "abc",
        "type": "access",
        "stp": stamp_digest(stamp_of(user_id)),
    }
    return base | overrides


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_401(response) -> dict:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized"
    return error


# -- GET -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [ME, ME + "/"])
def test_read_me(client, user_headers, url):
    response = client.get(url, headers=user_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"id", "email", "username", "is_active", "created_at"}
    assert body["username"] == "alice"


def test_each_user_sees_only_themselves(client, user_headers, other_headers):
    assert client.get(ME, headers=user_headers).get_json()["username"] == "alice"
    assert client.get(ME, headers=other_headers).get_json()["username"] == "mallory"


# -- bad tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWxpY2U6cGFzcw=="},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
    ],
)
def test_missing_or_malformed_token_is_401(client, headers):
    assert_401(client.get(ME, headers=headers))


@pytest.fixture
def alice(app) -> int:
    user_id = create_user(app, "alice")
    with app.app_context():  # claims_for reads the stamp
        yield user_id


def test_token_signed_correctly_by_hand_is_accepted(client, app, alice):
    """The forging helper itself is right: a proper HS256 token passes."""
    token = forge(
        {"alg": "HS256", "typ": "JWT"}, claims_for(alice), secret=app.config["JWT_SECRET_KEY"]
    )
    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_expired_token_is_401(client, app, alice):
    token, _, _ = create_token(
        user_id=alice,
        token_type="access",
        secret=app.config["JWT_SECRET_KEY"],
        lifetime=timedelta(seconds=-1),
        stamp=stamp_of(alice),
    )
    error = assert_401(client.get(ME, headers=bearer(token)))
    assert "expired" in error["message"]


def test_tampered_signature_is_401(client, app, alice):
    token, _, _ = create_token(
        user_id=alice,
        token_type="access",
        secret=app.config["JWT_SECRET_KEY"],
        lifetime=timedelta(minutes=5),
        stamp=stamp_of(alice),
    )
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_401(client.get(ME, headers=bearer(f"{head}.{payload}.{flipped}")))


def test_tampered_payload_is_401(client, app, alice):
    other = create_user(app, "mallory")
    token, _, _ = create_token(
        user_id=alice,
        token_type="access",
        secret=app.config["JWT_SECRET_KEY"],
        lifetime=timedelta(minutes=5),
        stamp=stamp_of(alice),
    )
    head, _, signature = token.split(".")
    payload = b64(json.dumps(claims_for(other)).encode())
    assert_401(client.get(ME, headers=bearer(f"{head}.{payload}.{signature}")))


def test_token_signed_with_another_secret_is_401(client, alice):
    token = forge({"alg": "HS256", "typ": "JWT"}, claims_for(alice), secret="another-secret" * 4)
    assert_401(client.get(ME, headers=bearer(token)))


def test_alg_none_is_401(client, alice):
    for alg in ("none", "None", "NONE"):
        token = forge({"alg": alg, "typ": "JWT"}, claims_for(alice))
        assert_401(client.get(ME, headers=bearer(token)))


def test_hs512_signed_with_the_right_secret_is_still_401(client, app, alice):
    token = forge(
        {"alg": "HS512", "typ": "JWT"},
        claims_for(alice),
        secret=app.config["JWT_SECRET_KEY"],
        digest=hashlib.sha512,
    )
    assert_401(client.get(ME, headers=bearer(token)))


def test_rs256_header_is_401(client, app, alice):
    # Key confusion: an RS256 token "signed" with the HMAC secret as if it were a public key.
    token = forge(
        {"alg": "RS256", "typ": "JWT"}, claims_for(alice), secret=app.config["JWT_SECRET_KEY"]
    )
    assert_401(client.get(ME, headers=bearer(token)))


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "jti", "type", "stp"])
def test_token_missing_a_claim_is_401(client, app, alice, missing):
    claims = claims_for(alice)
    del claims[missing]
    token = forge({"alg": "HS256", "typ": "JWT"}, claims, secret=app.config["JWT_SECRET_KEY"])
    assert_401(client.get(ME, headers=bearer(token)))


@pytest.mark.parametrize("overrides", [{"sub": "alice"}, {"type": "refresh"}, {"type": "id"}])
def test_token_with_wrong_subject_or_type_is_401(client, app, alice, overrides):
    token = forge(
        {"alg": "HS256", "typ": "JWT"},
        claims_for(alice, **overrides),
        secret=app.config["JWT_SECRET_KEY"],
    )
    assert_401(client.get(ME, headers=bearer(token)))


DELETE_BODY = {"current_password": DEFAULT_PASSWORD}


def test_token_of_a_deleted_user_is_401(client, user_headers):
    assert client.delete(ME, json=DELETE_BODY, headers=user_headers).status_code == 204
    error = assert_401(client.get(ME, headers=user_headers))
    assert "no longer valid" in error["message"]


def test_token_of_a_disabled_user_is_401(client, app, user_headers):
    with app.app_context():
        session = get_session()
        session.scalar(select(User).where(User.username == "alice")).is_active = False
        session.commit()
    assert_401(client.get(ME, headers=user_headers))


# -- PATCH / PUT ---------------------------------------------------------------------------

UPDATE_METHODS = ["patch", "put"]


def send(client, method: str, url: str = ME, **kwargs):
    return getattr(client, method)(url, **kwargs)


@pytest.mark.parametrize("method", UPDATE_METHODS)
@pytest.mark.parametrize("url", [ME, ME + "/"])
def test_change_username_and_email(client, user_headers, method, url):
    body = {
        "username": "alice2",
        "email": "Alice2@Example.com",
        "current_password": DEFAULT_PASSWORD,
    }
    response = send(client, method, url, json=body, headers=user_headers)
    assert response.status_code == 200
    assert response.get_json()["username"] == "alice2"
    assert response.get_json()["email"] == "alice2@example.com"
    assert client.get(ME, headers=user_headers).get_json()["username"] == "alice2"


@pytest.mark.parametrize("method", UPDATE_METHODS)
@pytest.mark.parametrize("body", [{}, {"username": None, "email": None}, {"nickname": "x"}])
def test_omitted_null_or_unknown_fields_change_nothing(client, user_headers, method, body):
    before = client.get(ME, headers=user_headers).get_json()
    response = send(client, method, json=body, headers=user_headers)
    assert response.status_code == 200
    assert response.get_json() == before


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_server_fields_cannot_be_changed(client, user_headers, method):
    before = client.get(ME, headers=user_headers).get_json()
    body = {"id": before["id"] + 1, "is_active": False, "created_at": "2000-01-01T00:00:00Z"}
    assert send(client, method, json=body, headers=user_headers).get_json() == before


@pytest.mark.parametrize("method", UPDATE_METHODS)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "MALLORY"}, "username"),
        ({"email": "mallory@example.com", "current_password": DEFAULT_PASSWORD}, "email"),
    ],
)
def test_taking_another_users_name_or_email_is_409(
    client, user_headers, other_headers, method, body, field
):
    response = send(client, method, json=body, headers=user_headers)
    assert response.status_code == 409
    assert {d["field"] for d in response.get_json()["error"]["details"]} == {field}


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_keeping_your_own_username_is_not_a_conflict(client, user_headers, method):
    response = send(
        client,
        method,
        json={"username": "ALICE", "email": "alice@example.com"},
        headers=user_headers,
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", UPDATE_METHODS)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"username": "x"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"password": "new-password-123"}, "current_password"),
        ({"password": "new-password-123", "current_password": "wrong-one!"}, "current_password"),
        ({"password": "short", "current_password": DEFAULT_PASSWORD}, "password"),
        ({"password": "a" * 73, "current_password": DEFAULT_PASSWORD}, "password"),
        ({"password": "ü" * 40, "current_password": DEFAULT_PASSWORD}, "password"),  # 80 bytes
    ],
)
def test_invalid_change_is_422_and_changes_nothing(client, user_headers, method, body, field):
    before = client.get(ME, headers=user_headers).get_json()
    body = {"username": "valid_new_name"} | body  # a valid field is not saved beside a bad one
    response = send(client, method, json=body, headers=user_headers)
    assert response.status_code == 422, response.get_json()
    assert field in {d["field"] for d in response.get_json()["error"]["details"]}
    assert client.get(ME, headers=user_headers).get_json() == before


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_change_password_revokes_refresh_tokens(client, api, method):
    tokens = api.tokens("alice")
    headers = bearer(tokens["access_token"])
    body = {"password": "brand-new-password", "current_password": DEFAULT_PASSWORD}
    assert send(client, method, json=body, headers=headers).status_code == 200
    assert api.login("alice", DEFAULT_PASSWORD).status_code == 401
    assert api.login("alice", "brand-new-password").status_code == 200
    assert client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 401


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_update_errors(client, user_headers, method):
    assert (
        send(
            client, method, data="{", content_type="application/json", headers=user_headers
        ).status_code
        == 400
    )
    assert send(client, method, data="username=x", headers=user_headers).status_code == 415
    assert send(client, method, json={"username": "x"}).status_code == 401


# -- DELETE --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [ME, ME + "/"])
def test_delete_me_removes_the_account_and_its_tokens(client, app, api, url):
    tokens = api.tokens("alice")
    mallory = api.headers("mallory")
    response = client.delete(url, json=DELETE_BODY, headers=bearer(tokens["access_token"]))
    assert response.status_code == 204
    assert response.get_data() == b""
    with app.app_context():
        session = get_session()
        assert session.scalar(select(User.username)) == "mallory"
        owners = session.scalars(select(RefreshToken.user_id)).all()
        assert set(owners) == {client.get(ME, headers=mallory).get_json()["id"]}
    assert api.login("alice").status_code == 401
    assert client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert (
        client.delete(url, json=DELETE_BODY, headers=bearer(tokens["access_token"])).status_code
        == 401
    )
    # The other account is untouched.
    assert client.get(ME, headers=mallory).status_code == 200


def test_delete_me_needs_a_token(client, app, alice):
    assert_401(client.delete(ME))
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(User)) == 1


def test_delete_me_leaves_no_row_that_points_at_the_user(client, app, api):
    """Every table with a foreign key to users (today's and future features') is emptied of
    the account's rows, e.g. the default board the sign-up hooks made."""
    tokens = api.tokens("alice")
    api.tokens("mallory")
    headers = bearer(tokens["access_token"])
    alice_id = client.get(ME, headers=headers).get_json()["id"]
    assert client.delete(ME, json=DELETE_BODY, headers=headers).status_code == 204
    with app.app_context():
        session = get_session()
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == "users":
                    column = fk.parent
                    left = session.scalar(
                        select(func.count()).select_from(table).where(column == alice_id)
                    )
                    assert left == 0, f"{table.name}.{column.name} still points at the user"
