"""The caller's own account: read, change, delete."""

from __future__ import annotations

from webapp.api import bp
from webapp.api.deps import current_api_user
from webapp.api.routing import api_operation
from webapp.api.schemas import UserPublic, UserUpdate
from webapp.db import get_session
from webapp.errors import ValidationFailed, field_error
from webapp.services import users


@api_operation(bp, "/users/me", "GET", summary="Your account", tags=["users"], response=UserPublic)
def read_me():
    return UserPublic.model_validate(current_api_user())


def _update_me(body: UserUpdate) -> UserPublic:
    if body.password is not None and not body.current_password:
        raise ValidationFailed(
            "The current password is required to change the password.",
            details=[field_error("current_password", "Required to change the password.")],
        )
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
    "errors": (409,),
}


@api_operation(bp, "/users/me", "PATCH", summary="Change your account", **_UPDATE)
def update_me(body: UserUpdate):
    """Change username, email and/or password; omitted fields stay as they are. A new
    password needs `current_password` and revokes every refresh token of the account."""
    return _update_me(body)


@api_operation(bp, "/users/me", "PUT", summary="Change your account (same as PATCH)", **_UPDATE)
def replace_me(body: UserUpdate):
    """Same semantics as PATCH (omitted fields stay as they are), for clients that use PUT."""
    return _update_me(body)


@api_operation(bp, "/users/me", "DELETE", summary="Delete your account", tags=["users"], status=204)
def delete_me():
    """Delete the account and everything it owns; its tokens stop working at once."""
    users.delete_user(session=get_session(), user=current_api_user())
    return None
