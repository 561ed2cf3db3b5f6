"""``users.signed_in_user``: the account every signed-in request loads, made from a plain
select; it must behave as the ORM's own ``User`` would."""

from __future__ import annotations

from sqlalchemy import inspect, select

from tests.utils.auth import create_user
from webapp.db import MAX_ID, get_session
from webapp.models import ApiToken, User
from webapp.services import users


def test_it_is_the_account_as_loaded(app):
    user_id = create_user(app, "alice")
    with app.app_context():
        session = get_session()
        user = users.signed_in_user(session, user_id)
        state = inspect(user)
        assert state.persistent and not state.modified and user not in session.dirty
        assert not session.new and not session.dirty
        expected = session.execute(select(User.__table__).where(User.id == user_id)).one()
        assert {c.key: getattr(user, c.key) for c in User.__table__.columns} == expected._asdict()
        assert user.api_tokens == []  # relationships load as usual


def test_a_change_to_it_is_saved(app):
    user_id = create_user(app, "alice")
    with app.app_context():
        session = get_session()
        user = users.signed_in_user(session, user_id)
        users.update_user(session=session, user=user, username="alicia")
        users.create_api_token(session=session, user=user, name="script", scope="read")
        session.close()
        saved = get_session().get(User, user_id)
        assert saved.username == "alicia"
        assert [t.name for t in get_session().scalars(select(ApiToken))] == ["script"]


def test_a_session_that_holds_the_account_gives_the_same_object(app):
    user_id = create_user(app, "alice")
    with app.app_context():
        session = get_session()
        held = session.get(User, user_id)
        assert users.signed_in_user(session, user_id) is held


def test_an_unknown_account_is_none(app):
    create_user(app, "alice")
    with app.app_context():
        assert users.signed_in_user(get_session(), MAX_ID) is None
