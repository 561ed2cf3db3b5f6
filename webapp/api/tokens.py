"""Personal API tokens over the API: list, make (shown once), revoke.

Managing tokens needs a log-in access token: a personal token cannot make or revoke tokens
(one leaked token must not be able to mint others).
"""

from __future__ import annotations

from webapp.api import bp
from webapp.api.deps import current_api_user, require_login_token
from webapp.api.routing import api_operation
from webapp.api.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenPublic
from webapp.db import get_session
from webapp.services import users


@api_operation(
    bp,
    "/tokens",
    "GET",
    summary="Your personal API tokens",
    tags=["tokens"],
    response=list[ApiTokenPublic],
    errors=(403,),
)
def list_tokens():
    require_login_token()
    rows = users.list_api_tokens(session=get_session(), user=current_api_user())
    return [ApiTokenPublic.model_validate(row) for row in rows]


@api_operation(
    bp,
    "/tokens",
    "POST",
    summary="Make a personal API token",
    tags=["tokens"],
    body=ApiTokenCreate,
    response=ApiTokenCreated,
    status=201,
    errors=(403,),
)
def create_token(body: ApiTokenCreate):
    """The answer holds the token, once; only its digest is kept. A `read` token may only
    make GET requests. A new password revokes every token."""
    require_login_token()
    row, token = users.create_api_token(
        session=get_session(), user=current_api_user(), name=body.name, scope=body.scope
    )
    return ApiTokenCreated.model_validate(
        {**ApiTokenPublic.model_validate(row).model_dump(), "token": token}
    )


@api_operation(
    bp,
    "/tokens/<int:token_id>",
    "DELETE",
    summary="Revoke a personal API token",
    tags=["tokens"],
    status=204,
    errors=(403,),
)
def revoke_token(token_id: int):
    require_login_token()
    users.revoke_api_token(session=get_session(), user=current_api_user(), token_id=token_id)
    return None
