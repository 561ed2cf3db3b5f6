"""Issue 11 #2, #7 and the sign-up part of #8: rate limits that fail open when Redis is
down, count per account as well as per address, trust ``X-Forwarded-For`` only behind the
configured number of proxies, and cap sign-ups per address."""

from __future__ import annotations

import logging

import pytest

from tests.utils.auth import DEFAULT_PASSWORD, create_user
from webapp.extensions import limiter, limiter_status

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
# Nothing listens on port 1: connecting is refused at once, like a Redis that is down.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def login(client, username="alice", password=DEFAULT_PASSWORD, address="10.0.0.1", **headers):
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


class TestRedisDown:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_STORAGE_URI": DEAD_REDIS, "LOGIN_RATE_LIMIT": "3 per minute"}

    @pytest.fixture(autouse=True)
    def _back_to_healthy_storage(self):
        yield
        # The limiter is one object for every app the tests make; the next app must not
        # start in fallback mode because this one's Redis was down.
        limiter._storage_dead = False

    def test_log_in_works_and_is_still_limited_in_memory(self, client, app, caplog):
        create_user(app, "alice")
        with caplog.at_level(logging.WARNING):
            assert login(client).status_code == 200
        assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)
        for _ in range(3):
            assert login(client, password="wrong-password").status_code == 401
        assert login(client, password="wrong-password").status_code == 429

    def test_the_browser_log_in_works_too(self, client, app):
        create_user(app, "alice")
        response = client.post("/auth/login", data={"login": "alice", "password": DEFAULT_PASSWORD})
        assert response.status_code == 302

    def test_status_says_the_storage_is_down(self, app):
        with app.app_context():
            status = limiter_status()
        assert status["storage"] == "redis" and status["ok"] is False
        assert "memory" in status["detail"]


def test_status_of_a_healthy_storage(app):
    with app.app_context():
        assert limiter_status() == {"storage": "memory", "ok": True, "detail": "ok"}


class TestPerAccountAndPerAddress:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_RATE_LIMIT": "5 per minute", "LOGIN_ACCOUNT_RATE_LIMIT": "8 per hour"}

    def test_many_addresses_share_one_accounts_budget(self, client, app):
        create_user(app, "alice")
        for i in range(8):
            response = login(client, password="wrong", address=f"10.0.1.{i}")
            assert response.status_code == 401
        blocked = login(client, password="wrong", address="10.0.2.1")
        assert blocked.status_code == 429
        assert "Retry-After" in blocked.headers
        # The account's name is folded as log-in folds it: case and spaces do not help.
        assert login(client, username=" ALICE ", address="10.0.2.2").status_code == 429
        # Another account is not affected.
        create_user(app, "bob")
        assert login(client, username="bob", address="10.0.2.3").status_code == 200

    def test_one_address_is_limited_across_accounts(self, client, app):
        for i in range(5):
            assert login(client, username=f"nobody{i}", password="wrong").status_code == 401
        assert login(client, username="someone-else", password="wrong").status_code == 429


class TestBehindProxies:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_RATE_LIMIT": "2 per minute", "TRUSTED_PROXIES": 1}

    def test_the_client_address_comes_from_the_trusted_hop(self, client, app):
        """Behind one proxy, every request comes from the proxy's address: the limit must
        follow X-Forwarded-For, or one attacker locks out every user."""
        proxy = "172.16.0.1"
        for _ in range(2):
            response = login(client, "x", "wrong", proxy, **{"X-Forwarded-For": "203.0.113.9"})
            assert response.status_code == 401
        attacker = login(client, "x", "wrong", proxy, **{"X-Forwarded-For": "203.0.113.9"})
        assert attacker.status_code == 429
        other = login(client, "x", "wrong", proxy, **{"X-Forwarded-For": "198.51.100.7"})
        assert other.status_code == 401

    def test_a_client_cannot_choose_its_address_by_adding_hops(self, client):
        """Only the last hop (the one our proxy added) counts: a forged earlier one does not."""
        proxy = "172.16.0.1"
        for i in range(3):
            forged = f"192.0.2.{i}, 203.0.113.9"
            response = login(client, "x", "wrong", proxy, **{"X-Forwarded-For": forged})
        assert response.status_code == 429


def test_without_trusted_proxies_forwarded_headers_are_ignored(make_app):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    for i in range(2):
        login(client, "x", "wrong", "10.9.9.9", **{"X-Forwarded-For": f"192.0.2.{i}"})
    third = login(client, "x", "wrong", "10.9.9.9", **{"X-Forwarded-For": "192.0.2.77"})
    assert third.status_code == 429


class TestSignupRate:
    @pytest.fixture
    def app_config(self):
        return {"SIGNUP_RATE_LIMIT": "3 per hour"}

    def test_sign_ups_per_address_are_capped_with_a_clear_429(self, client):
        for i in range(2):
            body = {"email": f"u{i}@example.com", "username": f"user{i}", "password": "x" * 12}
            assert client.post(REGISTER, json=body).status_code == 201
        # A rejected attempt costs nothing ...
        assert client.post(REGISTER, json={"email": "bad"}).status_code == 422
        # ... the browser form shares the budget ...
        form = {
            "email": "web@example.com",
            "username": "webuser",
            "password": "x" * 12,
            "confirm": "x" * 12,
        }
        assert client.post("/auth/signup", data=form).status_code == 302
        client.post("/auth/logout")
        body = {"email": "late@example.com", "username": "late", "password": "x" * 12}
        response = client.post(REGISTER, json=body)
        assert response.status_code == 429
        assert "Retry-After" in response.headers
        assert "Too many" in response.get_json()["error"]["message"]
        # Another address may still sign up.
        other = client.post(REGISTER, json=body, environ_base={"REMOTE_ADDR": "10.1.1.1"})
        assert other.status_code == 201


class TestCheckedWhereDeclared:
    """flask-limiter's before-request check runs only when some limit applies to every
    request; the log-in and sign-up limits are checked by their views' decorators."""

    def test_no_check_before_every_request_without_app_wide_limits(self, app, client):
        assert limiter._check_request_limit not in app.before_request_funcs[None]
        for _ in range(5):
            assert login(client, username="nobody", password="wrong").status_code == 401

    def test_a_default_limit_keeps_the_check(self, make_app):
        try:
            app = make_app(RATELIMIT_DEFAULT="2 per minute")
            assert limiter._check_request_limit in app.before_request_funcs[None]
            client = app.test_client()
            answers = [client.get("/api/v1/openapi.json").status_code for _ in range(3)]
            assert answers == [200, 200, 429]
        finally:
            # The limiter is one object for every app the tests make.
            limiter.limit_manager.set_default_limits([])
