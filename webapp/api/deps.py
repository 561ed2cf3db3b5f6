"""Who is calling: the bearer token of an API request, resolved to an active user."""

from __future__ import annotations

from flask import current_app, g, request

from webapp.db import get_session
from webapp.errors import Unauthorized
from webapp.models import User
from webapp.security import ACCESS, TokenError, decode_token


def authenticate_request() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("Missing 'Authorization: Bearer <token>' header.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Malformed Authorization header; expected 'Bearer <token>'.")
    try:
        claims = decode_token(
            token.strip(), secret=current_app.config["JWT_SECRET_KEY"], expected_type=ACCESS
        )
    except TokenError as exc:
        raise Unauthorized(str(exc)) from None
    user = get_session().get(User, claims["user_id"])
    if user is None or not user.is_active:
        raise Unauthorized("The account for this token no longer exists or is disabled.")
    return user


def current_api_user() -> User:
    """The user of the current API request (set by ``api_operation`` for authenticated routes)."""
    return g.api_user
