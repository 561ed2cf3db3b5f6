"""The default board is made on a user's first write, also while other first writes run."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.utils.auth import create_user
from webapp.db import get_engine, get_session
from webapp.models import User
from webapp.services import boards as board_service


def test_first_board_while_another_request_holds_a_key_share_on_the_user(app, database_url):
    """A request that inserted a row pointing at the user (an idempotency key, a task) holds
    the foreign key's KEY SHARE lock on the user until it commits. Making the first board
    must not wait for it: with FOR UPDATE it did, and two first writes deadlocked on every
    retry (the fault test under write load saw a minute of "deadlock detected")."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time: no row locks")
    user_id = create_user(app, "ada")
    with app.app_context():
        with get_engine().connect() as other:
            other.execute(
                text("SELECT id FROM users WHERE id = :id FOR KEY SHARE"), {"id": user_id}
            )
            session = get_session()
            session.execute(text("SET LOCAL lock_timeout = '3s'"))
            user = session.get(User, user_id)
            board = board_service.default_board(session=session, user=user)
            session.commit()
            other.rollback()
        assert board.name == board_service.DEFAULT_BOARD_NAME
        assert board_service.default_board(session=get_session(), user=user).id == board.id
