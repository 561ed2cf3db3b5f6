"""How requests use database connections: reads without a transaction, pings only when idle."""

from __future__ import annotations

import pytest
from flask import jsonify
from sqlalchemy import create_engine, exc, select, text, update

from tests.utils.auth import create_user
from webapp.db import WriteInReadOnlyRequest, _ping_when_idle, get_session, reads_only
from webapp.models import Board, User


def _postgres_only(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite is in-process, with no round trips to save")


@pytest.fixture
def probes(app):
    """Routes that report what their session did, one reading only and one not."""
    user_id = create_user(app, "ada")

    def in_transaction():
        session = get_session()
        session.scalar(select(User.username).where(User.id == user_id))
        dbapi = session.connection().connection.dbapi_connection
        if hasattr(dbapi, "info"):  # psycopg: what the server says
            return dbapi.info.transaction_status.name != "IDLE"
        return dbapi.in_transaction

    app.add_url_rule("/probe/reads", "reads", reads_only(lambda: jsonify(in_transaction())))
    app.add_url_rule("/probe/writes", "writes", lambda: jsonify(in_transaction()))

    @reads_only
    def rename(how: str):
        session = get_session()
        if how == "statement":
            session.execute(update(User).where(User.id == user_id).values(username="bea"))
        elif how == "flush":
            session.add(Board(owner_id=user_id, name="Not here"))
            session.flush()
        elif how == "lock":
            session.execute(select(User.id).where(User.id == user_id).with_for_update())
        return jsonify(ok=True)

    app.add_url_rule("/probe/rename/<how>", "rename", rename)
    return user_id


def test_a_reads_only_request_runs_without_a_transaction(app, client, probes, database_url):
    """No BEGIN before the first statement and no ROLLBACK after the last: two of a short
    read's five round trips on PostgreSQL."""
    _postgres_only(database_url)
    assert client.get("/probe/reads").json is False
    assert client.get("/probe/writes").json is True


def test_one_statement_writes_in_a_reads_only_request_are_kept(app, client, probes):
    """A single UPDATE is atomic on its own (a token's last-use stamp is one)."""
    assert client.get("/probe/rename/statement").json == {"ok": True}
    with app.app_context():
        assert get_session().get(User, probes).username == "bea"


@pytest.mark.parametrize("how", ["flush", "lock"])
def test_what_needs_a_transaction_is_refused_in_a_reads_only_request(
    app, client, probes, how, caplog
):
    """An ORM flush may be several statements and a row lock lasts for a transaction:
    without one, both would silently do less than they say, so they are refused: a bug in
    the view, which the error dispatcher logs and answers as one."""
    assert client.get(f"/probe/rename/{how}").status_code == 500
    assert WriteInReadOnlyRequest.__name__ in caplog.text
    with app.app_context():
        assert get_session().scalars(select(Board).where(Board.owner_id == probes)).all() == []


def test_get_operations_of_the_api_read_only_but_where_they_say_they_write(app):
    views = app.view_functions
    assert getattr(views["api.list_tasks"], "reads_only", False)
    assert getattr(views["api.get_task"], "reads_only", False)
    assert not getattr(views["api.list_boards"], "reads_only", False)  # makes a first board
    assert not getattr(views["api.create_task"], "reads_only", False)


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def _terminate(database_url: str, pid: int) -> None:
    killer = create_engine(database_url)
    with killer.connect() as connection:  # waits up to 5 s until the backend is gone
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    killer.dispose()


def test_a_connection_idle_in_the_pool_is_pinged_and_replaced_when_dead(database_url):
    _postgres_only(database_url)
    engine = create_engine(database_url, pool_size=1)
    _ping_when_idle(engine, after=0)  # every reuse counts as idle
    try:
        first = _backend_pid(engine)
        _terminate(database_url, first)
        assert _backend_pid(engine) != first  # no error: the ping found it dead
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(database_url):
    """The price of skipping the ping: a connection that died within the idle threshold
    fails one request (answered 503), after which the pool replaces its connections."""
    _postgres_only(database_url)
    engine = create_engine(database_url, pool_size=1)
    _ping_when_idle(engine, after=3600)
    try:
        first = _backend_pid(engine)
        _terminate(database_url, first)
        with pytest.raises(exc.OperationalError) as failed:
            _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
