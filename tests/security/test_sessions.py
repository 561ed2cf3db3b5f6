"""Issue 11 #4, #5 and #12: log-out ends the session on the server, remember-me cookies
expire on their own, a password change ends API tokens too, the API asks for the current
password before the account's credentials change or it is deleted, and the CSRF token is
new after log-in."""

from __future__ import annotations

import re
import time

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import select

from tests.utils.auth import DEFAULT_PASSWORD
from webapp.db import get_session
from webapp.models import User

ME = "/api/v1/users/me"
NEW_PASSWORD = "a-brand-new-passphrase"


def on_account_page(client) -> bool:
    return client.get("/auth/account").status_code == 200


def cookie(client, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, name
    return found.value


def stranger_with(app, **cookies):
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


# -- log-out ---------------------------------------------------------------------------------


def test_a_session_cookie_copied_before_log_out_is_dead_after_it(app, client, auth):
    auth.signup_and_login()
    copied = cookie(client, "session")
    assert on_account_page(stranger_with(app, session=copied))
    auth.logout()
    assert not on_account_page(stranger_with(app, session=copied))


def test_a_remember_me_cookie_is_dead_after_log_out(app, client, auth):
    auth.create("alice")
    auth.login(remember=True)
    remembered = cookie(client, "remember_token")
    assert on_account_page(stranger_with(app, remember_token=remembered))
    auth.logout()
    assert not on_account_page(stranger_with(app, remember_token=remembered))


def test_log_out_ends_the_accounts_api_access_tokens(client, auth, api):
    tokens = api.tokens("alice")
    auth.login()
    auth.logout()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get(ME, headers=headers).status_code == 401


def _remember_cookie(app, username: str, logged_in_at: float) -> str:
    with app.test_request_context():
        user = get_session().scalar(select(User).where(User.username == username))
        return encode_cookie(f"{user.id}:{user.security_stamp}:{int(logged_in_at)}")


def test_a_remember_me_cookie_expires_on_its_own(app, auth):
    """The cookie's own expiry is the browser's business; the server refuses a log-in older
    than REMEMBER_DAYS whatever the cookie says."""
    auth.create("alice")
    days = app.config["REMEMBER_COOKIE_DURATION"].days
    fresh = _remember_cookie(app, "alice", time.time() - 60)
    old = _remember_cookie(app, "alice", time.time() - (days + 1) * 86400)
    assert on_account_page(stranger_with(app, remember_token=fresh))
    assert not on_account_page(stranger_with(app, remember_token=old))


def test_a_session_in_the_old_format_is_refused(app, auth):
    """Sessions made before log-in times were recorded cannot say when they began."""
    auth.create("alice")
    with app.test_request_context():
        user = get_session().scalar(select(User).where(User.username == "alice"))
        old = encode_cookie(f"{user.id}:{user.security_stamp}")
    assert not on_account_page(stranger_with(app, remember_token=old))


# -- passwords and the API -------------------------------------------------------------------


def test_a_password_change_in_the_browser_ends_api_tokens(client, auth, api):
    tokens = api.tokens("alice")
    auth.login()
    response = client.post(
        "/auth/account/password",
        data={
            "password-current_password": DEFAULT_PASSWORD,
            "password-new_password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get(ME, headers=headers).status_code == 401
    assert on_account_page(client)  # this browser stays logged in


def test_a_password_change_over_the_api_ends_the_token_that_made_it(client, api):
    tokens = api.tokens("alice")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    body = {"password": NEW_PASSWORD, "current_password": DEFAULT_PASSWORD}
    assert client.patch(ME, json=body, headers=headers).status_code == 200
    assert client.get(ME, headers=headers).status_code == 401
    assert api.login("alice", NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("delete", {}),
        ("delete", {"current_password": "wrong-password"}),
        ("patch", {"email": "thief@example.com"}),
        ("patch", {"email": "thief@example.com", "current_password": "wrong-password"}),
        ("patch", {"password": NEW_PASSWORD}),
        ("put", {"password": NEW_PASSWORD, "current_password": "wrong-password"}),
    ],
)
def test_the_api_needs_the_current_password_for_credentials(client, api, method, body):
    headers = api.headers("alice")
    response = getattr(client, method)(ME, json=body, headers=headers)
    assert response.status_code == 422
    assert {d["field"] for d in response.get_json()["error"]["details"]} == {"current_password"}
    me = client.get(ME, headers=headers).get_json()
    assert me["email"] == "alice@example.com"
    assert api.login("alice").status_code == 200


def test_the_same_email_needs_no_password(client, api):
    headers = api.headers("alice")
    body = {"email": "ALICE@example.com", "username": "alice2"}
    assert client.patch(ME, json=body, headers=headers).status_code == 200


def test_the_browser_asks_for_the_password_to_change_the_email(client, app, auth):
    auth.signup_and_login()
    data = {"profile-username": "alice", "profile-email": "thief@example.com"}
    response = client.post("/auth/account/profile", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="profile-current_password-error">.*required', html, re.S)
    with app.app_context():
        assert get_session().scalar(select(User.email)) == "alice@example.com"


# -- CSRF ------------------------------------------------------------------------------------


class TestCsrfRotation:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_csrf_token_from_before_log_in_is_refused_after_it(self, client, auth):
        auth.create("alice")
        html = client.get("/auth/login").get_data(as_text=True)
        before = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        data = {"login": "alice", "password": DEFAULT_PASSWORD, "csrf_token": before}
        assert client.post("/auth/login", data=data).status_code == 302
        # A token planted before log-in (session fixation of the CSRF token) cannot post
        # as the user afterwards.
        assert client.post("/auth/logout", data={"csrf_token": before}).status_code == 400
        assert on_account_page(client)
        html = client.get("/").get_data(as_text=True)
        after = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        assert after != before
        assert client.post("/auth/logout", data={"csrf_token": after}).status_code == 302
