"""Test helpers for logging in through the browser forms and the API."""

from __future__ import annotations

from webapp.db import get_session
from webapp.services import users

DEFAULT_PASSWORD = "correct-horse-battery"


def create_user(app, username: str = "alice", password: str = DEFAULT_PASSWORD, email=None):
    """Create a user directly through the service; returns its id."""
    with app.app_context():
        user = users.create_user(
            session=get_session(),
            email=email or f"{username}@example.com",
            username=username,
            password=password,
        )
        return user.id


class AuthActions:
    def __init__(self, client, app):
        self._client = client
        self._app = app

    def create(self, username="alice", password=DEFAULT_PASSWORD, email=None) -> int:
        return create_user(self._app, username, password, email)

    def login(self, username="alice", password=DEFAULT_PASSWORD, remember=False):
        data = {"login": username, "password": password}
        if remember:
            data["remember"] = "y"
        return self._client.post("/auth/login", data=data)

    def signup_and_login(self, username="alice", password=DEFAULT_PASSWORD):
        self.create(username, password)
        return self.login(username, password)

    def logout(self):
        return self._client.post("/auth/logout")


class ApiAuth:
    def __init__(self, client, app):
        self._client = client
        self._app = app

    def register(self, username="alice", password=DEFAULT_PASSWORD, email=None):
        return self._client.post(
            "/api/v1/auth/register",
            json={
                "email": email or f"{username}@example.com",
                "username": username,
                "password": password,
            },
        )

    def login(self, username="alice", password=DEFAULT_PASSWORD):
        return self._client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )

    def tokens(self, username="alice", password=DEFAULT_PASSWORD) -> dict:
        create_user(self._app, username, password)
        response = self.login(username, password)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def headers(self, username="alice", password=DEFAULT_PASSWORD) -> dict:
        return {"Authorization": f"Bearer {self.tokens(username, password)['access_token']}"}
