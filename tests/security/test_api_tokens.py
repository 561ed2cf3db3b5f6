"""Personal API tokens: named, read or write, shown once, stored as a digest, revocable,
with a last-used time; through the API and the account page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.utils.auth import DEFAULT_PASSWORD
from webapp.db import get_session
from webapp.models import ApiToken
from webapp.security import api_token_digest

TOKENS = "/api/v1/tokens"
ME = "/api/v1/users/me"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def make(client, headers, name="script", scope="read") -> dict:
    response = client.post(TOKENS, json={"name": name, "scope": scope}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_token_is_shown_once_and_stored_as_a_digest(client, app, user_headers):
    made = make(client, user_headers)
    assert made["token"].startswith("pgp_") and len(made["token"]) > 40
    assert made["prefix"] == made["token"][:12]
    listed = client.get(TOKENS, headers=user_headers).get_json()
    assert [t["name"] for t in listed] == ["script"]
    assert "token" not in listed[0] and listed[0]["last_used_at"] is None
    with app.app_context():
        row = get_session().scalar(select(ApiToken))
        assert row.token_hash == api_token_digest(made["token"])
        assert made["token"] not in (row.token_hash, row.prefix)


def test_read_tokens_read_and_write_tokens_write(client, user_headers):
    read = make(client, user_headers, scope="read")["token"]
    write = make(client, user_headers, name="deploy", scope="write")["token"]
    assert client.get(ME, headers=bearer(read)).get_json()["username"] == "alice"
    refused = client.post("/api/v1/boards", json={"name": "x"}, headers=bearer(read))
    assert refused.status_code == 403
    assert "read-only" in refused.get_json()["error"]["message"]
    assert (
        client.post("/api/v1/boards", json={"name": "x"}, headers=bearer(write)).status_code == 201
    )


def test_last_use_is_recorded(client, user_headers):
    token = make(client, user_headers)["token"]
    client.get(ME, headers=bearer(token))
    assert client.get(TOKENS, headers=user_headers).get_json()[0]["last_used_at"] is not None


def test_revoked_tokens_stop_working_and_others_cannot_revoke(client, api, user_headers):
    made = make(client, user_headers)
    mallory = api.headers("mallory")
    assert client.delete(f"{TOKENS}/{made['id']}", headers=mallory).status_code == 404
    assert client.get(ME, headers=bearer(made["token"])).status_code == 200
    assert client.delete(f"{TOKENS}/{made['id']}", headers=user_headers).status_code == 204
    assert client.get(ME, headers=bearer(made["token"])).status_code == 401
    assert client.delete(f"{TOKENS}/{made['id']}", headers=user_headers).status_code == 404


def test_a_personal_token_cannot_manage_tokens_or_the_account(client, user_headers):
    write = make(client, user_headers, scope="write")["token"]
    assert client.post(TOKENS, json={"name": "more"}, headers=bearer(write)).status_code == 403
    assert client.get(TOKENS, headers=bearer(write)).status_code == 403
    body = {"current_password": DEFAULT_PASSWORD}
    assert client.delete(ME, json=body, headers=bearer(write)).status_code == 403


def test_a_password_change_revokes_every_token_but_log_out_does_not(client, auth, api):
    headers = api.headers("alice")
    token = make(client, headers)["token"]
    auth.login()
    auth.logout()  # ends sessions and access tokens ...
    assert client.get(ME, headers=bearer(token)).status_code == 200  # ... not personal tokens
    login = api.login("alice").get_json()
    body = {"password": "a-brand-new-passphrase", "current_password": DEFAULT_PASSWORD}
    response = client.patch(ME, json=body, headers=bearer(login["access_token"]))
    assert response.status_code == 200
    assert client.get(ME, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"name": "a\tb"}, "name"),
    ],
)
def test_bad_token_requests_are_422(client, user_headers, body, field):
    response = client.post(TOKENS, json=body, headers=user_headers)
    assert response.status_code == 422
    assert field in {d["field"] for d in response.get_json()["error"]["details"]}


def test_the_account_page_makes_shows_once_and_revokes(client, auth):
    auth.signup_and_login()
    response = client.post(
        "/auth/account/tokens", data={"token-name": "laptop", "token-scope": "write"}
    )
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    token = re.search(r'<code class="token-value">(pgp_[^<]+)</code>', html).group(1)
    assert client.get(ME, headers=bearer(token)).status_code == 200
    page = client.get("/auth/account").get_data(as_text=True)
    assert "laptop" in page and token not in page  # shown once
    token_id = re.search(r"/auth/account/tokens/(\d+)/revoke", page).group(1)
    assert client.post(f"/auth/account/tokens/{token_id}/revoke").status_code == 302
    assert client.get(ME, headers=bearer(token)).status_code == 401
    assert client.post("/auth/account/tokens", data={"token-name": ""}).status_code == 422
