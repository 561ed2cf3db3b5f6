"""HTML error pages: in the layout, for visitors and users, and while the database is down."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tests.conftest import make_test_app
from webapp.db import get_session


def assert_error_page(response, status: int, *phrases: str) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<nav class="nav container"' in html  # the base layout, not a bare page
    assert f'<p class="error-code" aria-hidden="true">{status}</p>' in html
    for phrase in phrases:
        assert phrase in html
    return html


@pytest.fixture
def boom(app):
    """A test-only route that fails, for the 500 page."""

    def explode():
        raise RuntimeError("kaboom: secret internals")

    app.add_url_rule("/test-boom", "test_boom", explode)


def test_404_page_for_a_visitor(client):
    html = assert_error_page(client.get("/no/such/page"), 404, "Page not found")
    assert "<code>/no/such/page</code>" in html
    assert 'href="/auth/login"' in html


def test_404_page_for_a_user_shows_who_is_logged_in(client, auth):
    auth.signup_and_login("alice")
    html = assert_error_page(client.get("/no/such/page"), 404)
    assert 'data-testid="nav-username">alice<' in html


def test_404_escapes_the_path(client):
    html = assert_error_page(client.get("/<script>x</script>"), 404)
    assert "<script>x</script>" not in html


def test_500_page_is_html_and_hides_the_details(client, boom, caplog):
    html = assert_error_page(client.get("/test-boom"), 500, "Something went wrong")
    assert "kaboom" not in html
    assert "kaboom" in caplog.text  # logged for whoever runs the server


def test_500_page_for_a_user(client, auth, boom):
    auth.signup_and_login("alice")
    html = assert_error_page(client.get("/test-boom"), 500)
    assert 'data-testid="nav-username">alice<' in html


def test_405_page(client):
    assert_error_page(client.get("/auth/logout"), 405, "Method not allowed")


def test_api_errors_stay_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json


class TestUploadLimit:
    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": 1024}

    def test_413_page(self, client):
        response = client.post("/auth/login", data={"login": "x" * 5000, "password": "y"})
        assert_error_page(response, 413, "File too large", "larger than the")


class TestCsrfFailure:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_400_page_says_the_form_expired(self, client):
        response = client.post("/auth/signup", data={"email": "a@example.com"})
        assert_error_page(response, 400, "Form expired", "The form expired, please try again")


class TestDatabaseDown:
    """The app pointed at a database that cannot be opened."""

    @pytest.fixture
    def down_app(self, tmp_path):
        app = make_test_app(
            f"sqlite:///{tmp_path / 'missing-dir' / 'nested' / 'db.sqlite'}",
            tmp_path / "instance",
        )

        def query():
            get_session().execute(text("SELECT 1"))
            return "unreachable"

        app.add_url_rule("/test-query", "test_query", query)
        return app

    @pytest.fixture
    def down_client(self, down_app):
        client = down_app.test_client()
        with client.session_transaction() as session:
            # "<id>:<security stamp>:<log-in time>", as User.get_id writes it
            session["_user_id"] = f"1:0123456789abcdef0123456789abcdef:{int(time.time())}"
            session["_fresh"] = True
        return client

    def test_404_renders_for_a_visitor(self, down_app):
        assert_error_page(down_app.test_client().get("/nope"), 404, "Page not found")

    def test_404_renders_for_a_logged_in_session(self, down_client):
        html = assert_error_page(down_client.get("/nope"), 404)
        assert 'href="/auth/login"' in html  # the user cannot be loaded: shown as a visitor

    def test_503_renders_when_a_query_cannot_reach_the_database(self, down_client):
        response = down_client.get("/test-query")
        assert_error_page(response, 503, "Temporarily unavailable", "The database is not answering")
        assert response.headers["Retry-After"].isdigit()

    def test_private_page_answers_503_not_a_login_redirect(self, down_client):
        response = down_client.get("/auth/account")
        assert_error_page(response, 503, "The database is not answering")

    def test_htmx_private_request_answers_503_too(self, down_client):
        response = down_client.get("/auth/account", headers={"HX-Request": "true"})
        assert response.status_code == 503
        assert "HX-Redirect" not in response.headers

    def test_home_page_still_renders_for_visitors(self, down_app):
        response = down_app.test_client().get("/")
        assert response.status_code == 200
        assert 'href="/auth/signup"' in response.get_data(as_text=True)
