"""Database engine, one session per app context, and the declarative Base."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids are 32-bit INTEGER columns (SQLite and PostgreSQL): a larger id cannot exist, and
# PostgreSQL answers a larger parameter with an error rather than "no row".
MAX_ID = 2**31 - 1


def _up_to(limit: int) -> str:
    """A regular expression for the whole numbers 1..``limit`` written without leading zeros."""
    digits = str(limit)
    parts = [rf"[1-9]\d{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(digits) - i - 1
            parts.append(
                f"{digits[:i]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else "")
            )
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` in our URLs: a database id, 1 to :data:`MAX_ID`; anything else is a 404
    from routing, before a view or the database sees it. The range is in the pattern itself:
    a value Werkzeug rejects only in ``to_python`` would turn into a 405 for the methods that
    other rules of the same path allow."""

    regex = _up_to(MAX_ID)


class Base(DeclarativeBase):
    """Every table's integer id is never reused on SQLite (``AUTOINCREMENT``).

    Ids end up in tokens, URLs and file names; without AUTOINCREMENT, SQLite hands the
    largest id out again once its row is deleted, so a deleted account's old token or link
    would name the next account made (PostgreSQL sequences never go back). Set here once,
    for every model, rather than in each model's ``__table_args__``; SQLite applies it to
    single-column integer primary keys only, which is exactly the ids.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None:
            table.dialect_kwargs["sqlite_autoincrement"] = True


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def normalize_url(url: str) -> str:
    """Accept the common ``postgres://`` and ``postgresql://`` forms and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# A pooled connection idle for longer than this is pinged before use; one used more recently
# is not. Under load every connection is back in use within milliseconds, so the ping (a
# round trip, and a tenth of a task list's CPU) is skipped; a connection that sat through a
# quiet spell, a server restart or an idle timeout is still checked before a request gets it.
PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url)
    _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def _ping_when_idle(engine: Engine, after: float) -> None:
    """``pool_pre_ping``, but only for a connection that has been idle for ``after`` seconds.

    A connection found dead is a ``DisconnectionError`` for the pool, which then throws it
    away and connects again (or raises, and the request answers 503, when the database is
    down). A connection that dies while in use fails its request, which answers 503, and
    the pool then replaces every connection made before that failure.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < after:
            return  # just connected, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"The pooled connection is gone: {error}") from error


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    reads = sessionmaker(autocommit, expire_on_commit=False)
    event.listen(reads, "before_flush", _refuse_flush)
    event.listen(reads, "do_orm_execute", _refuse_locks)
    app.extensions["db_read_sessionmaker"] = reads
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    return current_app.extensions["db_engine"]


def get_session() -> Session:
    """The session of the current app context (created on first use, closed at teardown).

    A request to a :func:`reads_only` view gets a session without a transaction.
    """
    if "db_session" not in g:
        kind = "db_read_sessionmaker" if _reads_only() else "db_sessionmaker"
        g.db_session = current_app.extensions[kind]()
    return g.db_session


# -- requests that only read -----------------------------------------------------------------


class WriteInReadOnlyRequest(RuntimeError):
    """A ``reads_only`` view tried something that needs a transaction: a bug in the view."""


View = TypeVar("View", bound=Callable)


def reads_only(view: View) -> View:
    """Mark a GET view that only reads: its session runs in autocommit, with no transaction.

    On PostgreSQL that saves two of a short request's round trips (``BEGIN`` and
    ``ROLLBACK``) and their CPU, and loses nothing: under READ COMMITTED every statement
    sees its own snapshot anyway. A single INSERT, UPDATE or DELETE statement still runs
    (atomic on its own, such as a token's last-use stamp); what needs a transaction, an ORM
    flush or a row lock, raises :class:`WriteInReadOnlyRequest`, so a mistake shows in
    tests instead of writing half of something.
    """
    view.reads_only = True  # type: ignore[attr-defined]
    return view


def _reads_only() -> bool:
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "reads_only", False)


def _refuse_flush(session: Session, _context, _instances) -> None:
    dirty = any(session.is_modified(instance) for instance in session.dirty)
    if session.new or session.deleted or dirty:
        raise WriteInReadOnlyRequest("An ORM flush in a reads_only request.")


def _refuse_locks(state: ORMExecuteState) -> None:
    # FOR UPDATE / FOR SHARE: a Select keeps it here (there is no public accessor).
    if state.is_select and state.statement._for_update_arg is not None:
        raise WriteInReadOnlyRequest("A row lock in a reads_only request.")


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
