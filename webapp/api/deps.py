"""Who is calling: the bearer token of an API request, resolved to an active user.

Two kinds of bearer token are accepted:

- a log-in access token (a JWT from ``/auth/login``): its ``sub`` names the user and its
  ``stp`` must match the user's current security stamp, so it dies with a log-out, a
  password change or the account;
- a personal API token (``pgp_...``, made on the account page or at ``/tokens``): looked up
  by its digest; a ``read`` token may only read (GET), anything else is a 403.

Either way the check is one primary-key (or unique-index) lookup per request; a log-in
token's account comes from ``users.signed_in_user`` (a plain select made into a ``User``),
so the route gets a real ``User`` for little more than the check itself would cost.
"""

from __future__ import annotations

from flask import current_app, g, request

from webapp.db import get_session
from webapp.errors import Forbidden, Unauthorized
from webapp.models import User
from webapp.security import ACCESS, API_TOKEN_PREFIX, TokenError, decode_token, stamp_matches
from webapp.services import users

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GONE = "This token is no longer valid: the account logged out, changed its password or is gone."


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("Missing 'Authorization: Bearer <token>' header.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Malformed Authorization header; expected 'Bearer <token>'.")
    return token.strip()


def authenticate_request() -> User:
    token = bearer_token()
    if token.startswith(API_TOKEN_PREFIX):
        found = users.user_for_api_token(session=get_session(), token=token)
        if found is None:
            raise Unauthorized("This API token does not exist or has been revoked.")
        user, api_token = found
        if api_token.scope != "write" and request.method not in READ_METHODS:
            raise Forbidden("This API token is read-only; make a 'write' token to change data.")
        g.api_token = api_token
        return user
    try:
        claims = decode_token(
            token, secret=current_app.config["JWT_SECRET_KEY"], expected_type=ACCESS
        )
    except TokenError as exc:
        raise Unauthorized(str(exc)) from None
    user = users.signed_in_user(get_session(), claims["user_id"])
    if user is None or not user.is_active or not stamp_matches(claims, user.security_stamp):
        raise Unauthorized(GONE)
    g.api_token = None
    return user


def current_api_user() -> User:
    """The user of the current API request (set by ``api_operation`` for authenticated routes)."""
    return g.api_user


def require_login_token() -> None:
    """Refuse personal API tokens (managing tokens and the account needs a log-in)."""
    if g.get("api_token") is not None:
        raise Forbidden("Personal API tokens cannot do this; use a log-in access token.")
