"""Browser account pages (flask-login sessions, flask-wtf forms)."""

from __future__ import annotations

from webapp.db import get_session
from webapp.extensions import login_manager
from webapp.models import User


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Sessions carry ``"<id>:<security stamp>"``; a changed password invalidates them."""
    user_id, _, stamp = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.is_active or user.security_stamp != stamp:
        return None
    return user
