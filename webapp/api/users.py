"""The caller's own account: read, change, delete.

Changing the email or password and deleting the account need ``current_password``, as in the
browser: a stolen access token alone must not be enough to take the account over.
"""

from __future__ import annotations

from webapp.api import bp
from webapp.api.deps import current_api_user, require_login_token
from webapp.api.routing import api_operation
from webapp.api.schemas import AccountDelete, UserPublic, UserUpdate
from webapp.db import get_session
from webapp.services import users


@api_operation(bp, "/users/me", "GET", summary="Your account", tags=["users"], response=UserPublic)
def read_me():
    return UserPublic.model_validate(current_api_user())


def _update_me(body: UserUpdate) -> UserPublic:
    require_login_token()
    user = users.update_user(
        session=get_session(),
        user=current_api_user(),
        email=body.email,
        username=body.username,
        password=body.password,
        current_password=body.current_password,
        require_current_password=True,
    )
    return UserPublic.model_validate(user)


_UPDATE = {
    "tags": ["users"],
    "body": UserUpdate,
    "response": UserPublic,
    "errors": (403, 409),
}


@api_operation(bp, "/users/me", "PATCH", summary="Change your account", **_UPDATE)
def update_me(body: UserUpdate):
    """Change username, email and/or password; omitted fields stay as they are. A new email
    or password needs `current_password`; a new password ends every session and token of
    the account (log in again)."""
    return _update_me(body)


@api_operation(bp, "/users/me", "PUT", summary="Change your account (same as PATCH)", **_UPDATE)
def replace_me(body: UserUpdate):
    """Same semantics as PATCH (omitted fields stay as they are), for clients that use PUT."""
    return _update_me(body)


@api_operation(
    bp,
    "/users/me",
    "DELETE",
    summary="Delete your account",
    tags=["users"],
    body=AccountDelete,
    status=204,
    errors=(403,),
)
def delete_me(body: AccountDelete):
    """Delete the account and everything it owns; needs `current_password`. Its tokens stop
    working at once."""
    require_login_token()
    users.delete_user(
        session=get_session(),
        user=current_api_user(),
        current_password=body.current_password,
        require_current_password=True,
    )
    return None
