"""Issue 11 #1: a deleted account's token must never open another account.

Two causes, each tested alone: SQLite reused the largest id once its row was deleted, and
an access token named only its user id (now it also carries a digest of the user's security
stamp, checked on every request).
"""

from __future__ import annotations

import sqlite3

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text

from tests.conftest import alembic_config
from tests.utils.auth import DEFAULT_PASSWORD
from webapp.db import get_session
from webapp.models import Base, User

ME = "/api/v1/users/me"
DELETE_BODY = {"current_password": DEFAULT_PASSWORD}


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_a_deleted_accounts_token_does_not_open_the_next_account(client, api):
    """The exact reproduction of the issue."""
    x = api.tokens("xavier")
    x_id = client.get(ME, headers=bearer(x)).get_json()["id"]
    assert client.delete(ME, json=DELETE_BODY, headers=bearer(x)).status_code == 204
    victim = api.tokens("victor")
    victim_id = client.get(ME, headers=bearer(victim)).get_json()["id"]
    assert victim_id != x_id  # ids are never reused ...
    assert client.get(ME, headers=bearer(x)).status_code == 401
    response = client.patch(ME, json={"username": "owned"}, headers=bearer(x))
    assert response.status_code == 401
    assert client.get(ME, headers=bearer(victim)).get_json()["username"] == "victor"


def test_a_token_dies_when_its_user_row_is_replaced_under_the_same_id(client, app, api):
    """... and even if an id came back (a restored backup, a hand-made row), the token is
    bound to the stamp of the account it was made for, not to the id."""
    tokens = api.tokens("xavier")
    with app.app_context():
        session = get_session()
        user = session.scalar(select(User).where(User.username == "xavier"))
        old_id = user.id
        session.delete(user)
        session.commit()
        session.add(
            User(
                id=old_id,
                email="victor@example.com",
                username="victor",
                password_hash=user.password_hash,
            )
        )
        session.commit()
    assert client.get(ME, headers=bearer(tokens)).status_code == 401


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_id_table_is_autoincrement_on_sqlite(database_url, table):
    """What the migrations made, not what the models say: a table added later without
    ``sqlite_autoincrement`` fails here."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL sequences never reuse ids")
    engine = create_engine(database_url)
    try:
        columns = inspect(engine).get_pk_constraint(table)["constrained_columns"]
        foreign = {
            c for fk in inspect(engine).get_foreign_keys(table) for c in fk["constrained_columns"]
        }
        with engine.connect() as connection:
            sql = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                {"name": table},
            ).scalar_one()
    finally:
        engine.dispose()
    if columns == ["id"] and not foreign & set(columns):
        assert "AUTOINCREMENT" in sql, sql


def test_migration_0005_keeps_rows_and_never_hands_out_a_deleted_id(tmp_path):
    """Upgrading a database with data: every row stays, foreign keys still cascade, and the
    largest id, deleted after the upgrade, is never handed out again."""
    path = tmp_path / "upgrade.db"
    config = alembic_config(f"sqlite:///{path}")
    command.upgrade(config, "0004")
    connection = sqlite3.connect(path)
    now = "2026-01-01 00:00:00"
    for user_id, name in ((1, "ann"), (2, "bob"), (3, "cyd")):
        connection.execute(
            "INSERT INTO users (id, email, username, password_hash, is_active, security_stamp,"
            " created_at, updated_at) VALUES (?, ?, ?, 'h', 1, 's', ?, ?)",
            (user_id, f"{name}@example.com", name, now, now),
        )
    connection.execute(
        "INSERT INTO boards (id, owner_id, name, description, created_at, updated_at)"
        " VALUES (7, 2, 'b', '', ?, ?)",
        (now, now),
    )
    connection.commit()
    connection.close()

    command.upgrade(config, "head")

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("SELECT id, username FROM users ORDER BY id").fetchall() == [
            (1, "ann"),
            (2, "bob"),
            (3, "cyd"),
        ]
        assert connection.execute("SELECT id, owner_id FROM boards").fetchall() == [(7, 2)]
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("DELETE FROM users WHERE id = 3")
        connection.execute(
            "INSERT INTO users (email, username, password_hash, is_active, security_stamp,"
            " created_at, updated_at) VALUES ('dee@example.com', 'dee', 'h', 1, 's', ?, ?)",
            (now, now),
        )
        new_id = connection.execute("SELECT id FROM users WHERE username = 'dee'").fetchone()[0]
        assert new_id == 4  # not 3 again
        # The child tables still point at users (foreign keys and cascades intact).
        connection.execute("DELETE FROM users WHERE id = 2")
        assert connection.execute("SELECT count(*) FROM boards").fetchone()[0] == 0
        connection.commit()
    finally:
        connection.close()
