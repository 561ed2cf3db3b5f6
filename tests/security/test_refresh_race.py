"""Issue 11 #3: refresh-token rotation is atomic, and reuse revokes the whole family.

The race is real: eight threads, each with its own client (and so its own database
session), present the same refresh token at the same moment. On SQLite and PostgreSQL
(DATABASE_URL) alike, exactly one of them gets a new pair.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from webapp.db import get_session
from webapp.models import RefreshToken

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"
RACERS = 8


def live_tokens(app) -> int:
    with app.app_context():
        return get_session().scalar(
            select(func.count()).select_from(RefreshToken).where(RefreshToken.revoked_at.is_(None))
        )


def race(app, token: str) -> list:
    barrier = threading.Barrier(RACERS)
    answers: list = [None] * RACERS

    def present(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        answers[i] = client.post(REFRESH, json={"refresh_token": token})

    threads = [threading.Thread(target=present, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_one_refresh_token_sent_eight_times_at_once_yields_one_pair(app, api):
    tokens = api.tokens("alice")
    answers = race(app, tokens["refresh_token"])
    statuses = sorted(response.status_code for response in answers)
    assert statuses == [200] + [401] * (RACERS - 1), statuses
    # The losers presented a token that was already traded: reuse, so the family (the
    # winner's new token included) is revoked, and no valid refresh token is left at all.
    assert live_tokens(app) == 0
    winner = next(r for r in answers if r.status_code == 200).get_json()
    assert (
        api._client.post(REFRESH, json={"refresh_token": winner["refresh_token"]}).status_code
        == 401
    )


def test_reusing_a_rotated_token_revokes_the_family_but_not_other_log_ins(client, app, api):
    first = api.tokens("alice")
    other_login = api.login("alice").get_json()  # another device, another family
    rotated = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).get_json()
    # An attacker replays the stolen first token: refused, and the thief's success ...
    assert client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).status_code == 401
    # ... means the legitimate holder of the rotated token must log in again.
    assert client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]}).status_code == 401
    # The other device's log-in is another family: untouched.
    response = client.post(REFRESH, json={"refresh_token": other_login["refresh_token"]})
    assert response.status_code == 200


def test_log_out_revokes_the_family(client, api):
    first = api.tokens("alice")
    rotated = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).get_json()
    assert client.post(LOGOUT, json={"refresh_token": rotated["refresh_token"]}).status_code == 204
    assert client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]}).status_code == 401


def test_log_out_everywhere_ends_access_tokens_and_other_log_ins(client, api):
    first = api.tokens("alice")
    second = api.login("alice").get_json()
    body = {"refresh_token": first["refresh_token"], "everywhere": True}
    assert client.post(LOGOUT, json=body).status_code == 204
    for pair in (first, second):
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        assert client.get(ME, headers=headers).status_code == 401
    assert client.post(REFRESH, json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert api.login("alice").status_code == 200
