"""Sign-up, log-in, log-out and the account page, through the browser forms.

Forms that come back with errors answer 422 and show the message on the page; nothing is
written to the database when they do.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.utils.auth import DEFAULT_PASSWORD
from webapp.auth.routes import BAD_LOGIN, safe_next
from webapp.db import get_session
from webapp.models import RefreshToken, User
from webapp.services import users

NEW_PASSWORD = "a-brand-new-passphrase"


def signup_data(**overrides) -> dict:
    data = {
        "email": "alice@example.com",
        "username": "alice",
        "password": DEFAULT_PASSWORD,
        "confirm": DEFAULT_PASSWORD,
    }
    data.update(overrides)
    return data


def user_count(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(User))


def get_user(app, username: str) -> User | None:
    with app.app_context():
        return get_session().scalar(select(User).where(User.username == username))


def logged_in_as(client) -> str | None:
    """The username the navigation shows, or None for a visitor."""
    html = client.get("/").get_data(as_text=True)
    match = re.search(r'data-testid="nav-username">([^<]+)<', html)
    return match.group(1) if match else None


def form_alert(html: str) -> str:
    match = re.search(r'<div class="alert alert-error" role="alert">(.*?)</div>', html, re.S)
    return match.group(1).strip() if match else ""


# --- sign-up ------------------------------------------------------------------------------


def test_signup_page_renders(client):
    response = client.get("/auth/signup")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for label in ("Email", "Username", "Password", "Password again"):
        assert f">{label}</label>" in html


def test_signup_creates_the_user_and_logs_in(client, app):
    response = client.post("/auth/signup", data=signup_data())
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    user = get_user(app, "alice")
    assert user is not None and user.email == "alice@example.com"
    assert logged_in_as(client) == "alice"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "@-sign"),
        ({"email": ""}, "email", "This field is required."),
        ({"username": "al"}, "username", "3 to 32 characters"),
        ({"username": "al ice"}, "username", "may contain only letters"),
        ({"username": "a" * 33}, "username", "3 to 32 characters"),
        ({"password": "short", "confirm": "short"}, "password", "at least 8 characters"),
        ({"password": "é" * 37, "confirm": "é" * 37}, "password", "at most 72 bytes"),
        ({"confirm": "something-else"}, "confirm", "do not match"),
        ({"password": "", "confirm": ""}, "password", "This field is required."),
    ],
)
def test_signup_rejects_bad_input(client, app, overrides, field, message):
    response = client.post("/auth/signup", data=signup_data(**overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', html, re.S)
    assert error and message in error.group(1)
    assert user_count(app) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "ALICE@example.com", "username": "bob"}, "email"),
        ({"email": "bob@example.com", "username": "Alice"}, "username"),
    ],
)
def test_signup_rejects_taken_email_or_username(client, app, auth, overrides, field):
    auth.create("alice")
    response = client.post("/auth/signup", data=signup_data(**overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f"This {field} is already taken." in html
    assert f'id="{field}-error"' in html
    assert user_count(app) == 1


def test_signup_follows_a_safe_next(client):
    response = client.post("/auth/signup?next=/auth/account", data=signup_data())
    assert response.headers["Location"] == "/auth/account"


# --- log-in and log-out -------------------------------------------------------------------


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", "Alice@Example.com"])
def test_login_by_username_or_email(client, auth, login):
    auth.create("alice")
    response = auth.login(login)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert logged_in_as(client) == "alice"


def test_wrong_password_and_unknown_user_look_the_same(client, auth):
    auth.create("alice")
    wrong_password = auth.login("alice", "not-the-password")
    unknown_user = auth.login("nobody", "not-the-password")
    assert wrong_password.status_code == unknown_user.status_code == 422
    assert form_alert(wrong_password.get_data(as_text=True)) == f"<p>{BAD_LOGIN}</p>"
    assert form_alert(unknown_user.get_data(as_text=True)) == f"<p>{BAD_LOGIN}</p>"
    assert logged_in_as(client) is None


def test_login_keeps_what_was_typed_but_not_the_password(client, auth):
    auth.create("alice")
    html = auth.login("alice", "wrong-password-123").get_data(as_text=True)
    assert 'value="alice"' in html
    assert "wrong-password-123" not in html


def test_login_with_empty_fields_shows_field_errors(client):
    response = client.post("/auth/login", data={"login": "", "password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="login-error"' in html and 'id="password-error"' in html


def test_login_with_an_overlong_password_is_a_form_error(client, auth):
    auth.create("alice")
    response = auth.login("alice", "x" * 500)
    assert response.status_code == 422
    assert BAD_LOGIN in response.get_data(as_text=True)


def test_remember_me_sets_the_remember_cookie(client, auth):
    auth.create("alice")
    auth.login("alice", remember=True)
    assert client.get_cookie("remember_token") is not None


def test_without_remember_me_there_is_no_remember_cookie(client, auth):
    auth.create("alice")
    auth.login("alice")
    assert client.get_cookie("remember_token") is None


def test_remember_cookie_alone_logs_the_user_in(client, auth):
    auth.create("alice")
    auth.login("alice", remember=True)
    client.delete_cookie("session")
    assert logged_in_as(client) == "alice"


def test_logout_requires_post(client, auth):
    auth.signup_and_login()
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert logged_in_as(client) == "alice"


def test_logout_logs_out(client, auth):
    auth.signup_and_login()
    response = auth.logout()
    assert response.status_code == 302
    assert "You have been logged out." in client.get("/").get_data(as_text=True)
    assert logged_in_as(client) is None
    assert client.get("/auth/account").status_code == 302


@pytest.mark.parametrize("url", ["/auth/login", "/auth/signup"])
def test_logged_in_users_are_sent_home_from_login_and_signup(client, auth, url):
    auth.signup_and_login()
    assert client.get(url).headers["Location"] == "/"
    assert client.post(url, data={}).headers["Location"] == "/"


# --- where log-in sends you ---------------------------------------------------------------


def test_login_follows_a_safe_next(client, auth):
    auth.create("alice")
    response = client.post(
        "/auth/login?next=/auth/account",
        data={"login": "alice", "password": DEFAULT_PASSWORD},
    )
    assert response.headers["Location"] == "/auth/account"


def test_login_page_carries_next_into_the_form(client):
    html = client.get("/auth/login?next=/auth/account%3Ftab%3D1").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/auth/account?tab=1"' in html


BAD_NEXTS = [
    "https://evil.com/",
    "http://evil.com",
    "//evil.com",
    "///evil.com",
    "\\\\evil.com",
    "/\\evil.com",
    "/\t/evil.com",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "evil.com",
    "",
]


@pytest.mark.parametrize("bad_next", BAD_NEXTS)
def test_login_ignores_an_off_site_next(client, auth, bad_next):
    auth.create("alice")
    response = client.post(
        "/auth/login",
        data={"login": "alice", "password": DEFAULT_PASSWORD, "next": bad_next},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("bad_next", BAD_NEXTS)
def test_signup_ignores_an_off_site_next(client, bad_next):
    response = client.post("/auth/signup", data=signup_data(next=bad_next))
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("good", ["/", "/auth/account", "/boards/3?view=list#top"])
def test_safe_next_keeps_site_paths(good):
    assert safe_next(good) == good


# --- pages that need a log-in -------------------------------------------------------------

PRIVATE_PAGES = [
    ("GET", "/auth/account"),
    ("POST", "/auth/account/profile"),
    ("POST", "/auth/account/password"),
    ("POST", "/auth/account/delete"),
]


@pytest.mark.parametrize(("method", "url"), PRIVATE_PAGES)
def test_private_pages_redirect_to_login_and_back(client, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/auth/login?next={url}"


def test_private_page_comes_back_after_login(client, auth):
    auth.create("alice")
    location = client.get("/auth/account").headers["Location"]
    assert "Please log in to see that page." in client.get(location).get_data(as_text=True)
    response = client.post(location, data={"login": "alice", "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/auth/account"


@pytest.mark.parametrize(("method", "url"), PRIVATE_PAGES)
def test_htmx_request_without_session_gets_hx_redirect(client, method, url):
    response = client.open(url, method=method, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == f"/auth/login?next={url}"
    assert response.get_data() == b""


def test_hx_redirect_returns_to_the_page_in_the_address_bar(client):
    response = client.get(
        "/auth/account",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/boards/7?x=1"},
    )
    assert response.headers["HX-Redirect"] == "/auth/login?next=/boards/7?x%3D1"


def test_hx_redirect_ignores_a_current_url_on_another_host(client):
    response = client.get(
        "/auth/account",
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.com/x"},
    )
    assert response.headers["HX-Redirect"] == "/auth/login?next=/auth/account"


# --- the account page ---------------------------------------------------------------------


def test_account_page_shows_three_forms(client, auth):
    auth.signup_and_login()
    html = client.get("/auth/account").get_data(as_text=True)
    assert 'action="/auth/account/profile"' in html
    assert 'action="/auth/account/password"' in html
    assert 'action="/auth/account/delete"' in html
    assert 'value="alice@example.com"' in html


def test_change_username_and_email(client, app, auth):
    auth.signup_and_login()
    response = client.post(
        "/auth/account/profile",
        data={
            "profile-username": "alicia",
            "profile-email": "Alicia@Example.org",
            "profile-current_password": DEFAULT_PASSWORD,
        },
    )
    assert response.status_code == 302
    user = get_user(app, "alicia")
    assert user is not None and user.email == "alicia@example.org"
    assert logged_in_as(client) == "alicia"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"profile-username": "bob", "profile-email": "x@example.com"}, "username", "taken"),
        ({"profile-username": "alice", "profile-email": "bob@example.com"}, "email", "taken"),
        ({"profile-username": "a!", "profile-email": "alice@example.com"}, "username", "3 to 32"),
        ({"profile-username": "alice", "profile-email": "nope"}, "email", "@-sign"),
        ({"profile-username": "", "profile-email": "alice@example.com"}, "username", "required"),
    ],
)
def test_change_profile_rejects_bad_input(client, app, auth, data, field, message):
    auth.create("bob")
    auth.signup_and_login("alice")
    response = client.post("/auth/account/profile", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="profile-{field}-error">(.*?)</ul>', html, re.S)
    assert error and message in error.group(1)
    user = get_user(app, "alice")
    assert user is not None and user.email == "alice@example.com"


def password_change(current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirm=None) -> dict:
    return {
        "password-current_password": current,
        "password-new_password": new,
        "password-confirm": new if confirm is None else confirm,
    }


def test_change_password_keeps_this_session_and_logs_out_others(app, client, auth):
    auth.signup_and_login()
    other = app.test_client()
    other.post("/auth/login", data={"login": "alice", "password": DEFAULT_PASSWORD})
    assert logged_in_as(other) == "alice"

    response = client.post("/auth/account/password", data=password_change())
    assert response.status_code == 302
    assert logged_in_as(client) == "alice"
    assert client.get("/auth/account").status_code == 200
    assert logged_in_as(other) is None
    assert other.get("/auth/account").status_code == 302


def test_change_password_also_voids_other_remember_cookies(app, client, auth):
    auth.signup_and_login()
    other = app.test_client()
    other.post(
        "/auth/login", data={"login": "alice", "password": DEFAULT_PASSWORD, "remember": "y"}
    )
    client.post("/auth/account/password", data=password_change())
    other.delete_cookie("session")  # only the remember-me cookie is left
    assert logged_in_as(other) is None


def test_change_password_renews_this_browsers_remember_cookie(client, auth):
    auth.create("alice")
    auth.login("alice", remember=True)
    client.post("/auth/account/password", data=password_change())
    client.delete_cookie("session")
    assert logged_in_as(client) == "alice"


def test_new_password_works_and_old_one_does_not(app, client, auth):
    auth.signup_and_login()
    client.post("/auth/account/password", data=password_change())
    fresh = app.test_client()
    fail = fresh.post("/auth/login", data={"login": "alice", "password": DEFAULT_PASSWORD})
    assert fail.status_code == 422
    ok = fresh.post("/auth/login", data={"login": "alice", "password": NEW_PASSWORD})
    assert ok.status_code == 302


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (password_change(current="wrong-password"), "current_password", "not correct"),
        (password_change(new="short"), "new_password", "at least 8 characters"),
        (password_change(new="ü" * 40), "new_password", "at most 72 bytes"),
        (password_change(confirm="mismatch-123"), "confirm", "do not match"),
        (password_change(current=""), "current_password", "required"),
    ],
)
def test_change_password_rejects_bad_input(client, app, auth, data, field, message):
    auth.signup_and_login()
    stamp = get_user(app, "alice").security_stamp
    response = client.post("/auth/account/password", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="password-{field}-error">(.*?)</ul>', html, re.S)
    assert error and message in error.group(1)
    assert get_user(app, "alice").security_stamp == stamp
    assert logged_in_as(client) == "alice"


def test_delete_account_needs_the_password(client, app, auth):
    auth.signup_and_login()
    response = client.post("/auth/account/delete", data={"delete-password": "wrong-password"})
    assert response.status_code == 422
    assert 'id="delete-password-error"' in response.get_data(as_text=True)
    assert get_user(app, "alice") is not None
    assert logged_in_as(client) == "alice"


def test_delete_account_removes_the_user_and_its_data_and_logs_out(client, app, auth):
    user_id = auth.create("alice")
    auth.create("bob")
    auth.login("alice", remember=True)
    with app.app_context():
        session = get_session()
        users.issue_tokens(
            session=session,
            user=session.get(User, user_id),
            secret="s" * 40,
            access_minutes=5,
            refresh_days=1,
        )
    response = client.post("/auth/account/delete", data={"delete-password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert get_user(app, "alice") is None
    assert get_user(app, "bob") is not None
    with app.app_context():
        tokens = get_session().scalars(select(RefreshToken).where(RefreshToken.user_id == user_id))
        assert list(tokens) == []
    assert client.get_cookie("remember_token") is None
    assert "have been deleted" in client.get("/").get_data(as_text=True)
    assert logged_in_as(client) is None


# --- CSRF and the log-in rate limit are on in these classes ---------------------------------


def csrf_token_from(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_login_without_token_is_refused_kindly(self, client, auth):
        auth.create("alice")
        response = auth.login("alice")
        assert response.status_code == 400
        assert "The form expired, please try again" in response.get_data(as_text=True)
        assert logged_in_as(client) is None

    def test_login_with_token_works(self, client, auth):
        auth.create("alice")
        token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
        response = client.post(
            "/auth/login",
            data={"login": "alice", "password": DEFAULT_PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        assert logged_in_as(client) == "alice"

    @pytest.mark.parametrize(
        "url", ["/auth/signup", "/auth/logout", "/auth/account/profile", "/auth/account/delete"]
    )
    def test_every_form_needs_the_token(self, client, auth, url):
        auth.create("alice")
        token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
        client.post(
            "/auth/login",
            data={"login": "alice", "password": DEFAULT_PASSWORD, "csrf_token": token},
        )
        response = client.post(url, data={"delete-password": DEFAULT_PASSWORD})
        assert response.status_code == 400
        assert logged_in_as(client) == "alice"

    def test_htmx_header_token_is_accepted(self, client, auth):
        auth.create("alice")
        html = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        client.post(
            "/auth/login",
            data={"login": "alice", "password": DEFAULT_PASSWORD, "csrf_token": token},
        )
        html = client.get("/").get_data(as_text=True)  # log-in made a new token
        token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        response = client.post("/auth/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
        assert response.status_code == 302
        assert logged_in_as(client) is None

    def test_htmx_post_after_the_session_expired_goes_to_login(self, client):
        response = client.post(
            "/auth/account/profile",
            headers={"HX-Request": "true", "X-CSRFToken": "stale"},
        )
        assert response.status_code == 401
        assert response.headers["HX-Redirect"] == "/auth/login?next=/auth/account/profile"


class TestLoginRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_RATE_LIMIT": "3 per minute"}

    def test_too_many_failed_logins_get_429_with_retry_after(self, client, auth):
        auth.create("alice")
        for _ in range(3):
            assert auth.login("alice", "wrong-password").status_code == 422
        response = auth.login("alice", "wrong-password")
        assert response.status_code == 429
        assert response.mimetype == "text/html"
        assert int(response.headers["Retry-After"]) > 0
        assert "Too many attempts" in response.get_data(as_text=True)
        # Even the right password waits now; the page itself still loads.
        assert auth.login("alice").status_code == 429
        assert client.get("/auth/login").status_code == 200

    def test_successful_logins_do_not_count(self, client, auth):
        auth.create("alice")
        for _ in range(5):
            assert auth.login("alice").status_code == 302
            auth.logout()
        assert auth.login("alice", "wrong-password").status_code == 422


def test_signup_shows_every_fields_error_at_once(client, app):
    """Issue 10 #10: a bad email, a one-letter username and empty passwords used to show
    only the password errors; the others came on the next try."""
    response = client.post(
        "/auth/signup",
        data={"email": "not-an-email", "username": "x", "password": "", "confirm": ""},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("email", "username", "password", "confirm"):
        assert f'id="{field}-error"' in html, field
    assert "3 to 32" in html
    assert user_count(app) == 0


def test_signup_checks_a_short_password_with_the_other_fields(client):
    response = client.post(
        "/auth/signup",
        data={"email": "a@example.com", "username": "x", "password": "short", "confirm": "other"},
    )
    html = response.get_data(as_text=True)
    assert 'id="username-error"' in html and 'id="password-error"' in html
    assert 'id="confirm-error"' in html
