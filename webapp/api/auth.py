"""Sign-up, log-in, token refresh and log-out over the API."""

from __future__ import annotations

from flask import current_app, g, request
from pydantic import ValidationError

from webapp.api import bp
from webapp.api.routing import api_operation as _api_operation
from webapp.api.routing import parse_json_body, validation_details
from webapp.api.schemas import (
    LoginForm,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    TokenPair,
    UserCreate,
    UserPublic,
)
from webapp.db import get_session
from webapp.errors import Unauthorized, UnsupportedMediaType, ValidationFailed
from webapp.extensions import login_rate_limit, signup_rate_limit
from webapp.services import users

REF = "#/components/schemas/{}"
FORM = "application/x-www-form-urlencoded"
BAD_CREDENTIALS = "Incorrect username or password."


def _token_settings() -> dict:
    config = current_app.config
    return {
        "secret": config["JWT_SECRET_KEY"],
        "access_minutes": config["ACCESS_TOKEN_MINUTES"],
        "refresh_days": config["REFRESH_TOKEN_DAYS"],
    }


def api_operation(rule, method, **kwargs):
    return _api_operation(bp, rule, method, tags=["auth"], **kwargs)


@api_operation(
    "/auth/register",
    "POST",
    summary="Create an account",
    body=UserCreate,
    response=UserPublic,
    status=201,
    auth=False,
    errors=(409, 429),
)
@signup_rate_limit
def register(body: UserCreate):
    """Create an account; then log in at `/auth/login`. Email and username must be unused
    (409 names the field that is taken). Each client address may create a few accounts an
    hour (`SIGNUP_RATE_LIMIT`; 429 with `Retry-After` beyond it)."""
    user = users.create_user(
        session=get_session(), email=body.email, username=body.username, password=body.password
    )
    g.signed_up = True  # counted by signup_rate_limit
    return UserPublic.model_validate(user)


def parse_login_body(model: type[LoginRequest]) -> LoginRequest:
    """OAuth2 password clients send form fields; others send JSON. Both are validated alike."""
    if request.mimetype == FORM:
        try:
            form = LoginForm.model_validate(request.form.to_dict())
        except ValidationError as exc:
            raise ValidationFailed(
                "The body is not valid.", details=validation_details(exc, "body")
            ) from None
        return model(username=form.username, password=form.password)
    if not request.is_json:
        raise UnsupportedMediaType(
            f"Send the credentials as JSON ('application/json') or as form fields ('{FORM}')."
        )
    return parse_json_body(model)


def _issue_for(body: LoginRequest) -> TokenPair:
    session = get_session()
    user = users.authenticate(session=session, login=body.username, password=body.password)
    if user is None:
        g.login_failed = True  # counted by login_rate_limit
        raise Unauthorized(BAD_CREDENTIALS)
    return TokenPair(**users.issue_tokens(session=session, user=user, **_token_settings()))


@api_operation(
    "/auth/login",
    "POST",
    summary="Log in: get an access and a refresh token",
    body=LoginRequest,
    body_parser=parse_login_body,
    response=TokenPair,
    auth=False,
    errors=(401, 429),
)
@login_rate_limit
def login(body: LoginRequest):
    """`username` may be the username or the email. A wrong password and an unknown user get
    the same 401. Failed attempts are rate limited per client address and per account
    (429 with `Retry-After`). OAuth2 password-grant clients send form fields to
    `/auth/token` instead (form fields are accepted here too, for older clients)."""
    return _issue_for(body)


def parse_token_form(model: type[LoginForm]) -> LoginRequest:
    if request.mimetype != FORM:
        raise UnsupportedMediaType(f"Send the credentials as form fields ('{FORM}').")
    return parse_login_body(LoginRequest)


@api_operation(
    "/auth/token",
    "POST",
    summary="Log in with OAuth2 password-grant form fields",
    body=LoginForm,
    body_parser=parse_token_form,
    request_content={FORM: {"schema": {"$ref": REF.format("LoginForm")}}},
    extra_schemas=(LoginForm,),
    response=TokenPair,
    auth=False,
    errors=(401, 429),
)
@login_rate_limit
def token(body: LoginRequest):
    """The OAuth2 token endpoint for the password grant (RFC 6749, 4.3): `grant_type`,
    `username` (or the email) and `password` as form fields. Same answers and limits as
    `/auth/login`, which takes JSON: one schema per path, so generated clients work."""
    return _issue_for(body)


@api_operation(
    "/auth/refresh",
    "POST",
    summary="Trade a refresh token for a new token pair",
    body=RefreshRequest,
    response=TokenPair,
    auth=False,
    errors=(401,),
)
def refresh(body: RefreshRequest):
    """The refresh token is single-use: it is revoked and a new one returned (rotation).
    Presenting a refresh token a second time revokes every token of that log-in (it was
    probably stolen): log in again. An access token is refused here (401)."""
    tokens = users.refresh_tokens(
        session=get_session(), token=body.refresh_token, **_token_settings()
    )
    return TokenPair(**tokens)


@api_operation(
    "/auth/logout",
    "POST",
    summary="Log out: revoke a refresh token (or every session of the account)",
    body=LogoutRequest,
    status=204,
    auth=False,
    errors=(401,),
)
def logout(body: LogoutRequest):
    """Revoke the refresh token and the tokens refreshed from the same log-in. With
    `"everywhere": true`, end every session of the account: all refresh tokens, all access
    tokens and browser sessions (personal API tokens stay). An unknown, expired or already
    revoked token is a 401."""
    session = get_session()
    secret = current_app.config["JWT_SECRET_KEY"]
    if body.everywhere:
        users.log_out_everywhere_with(session=session, token=body.refresh_token, secret=secret)
    else:
        users.revoke_refresh_token(session=session, token=body.refresh_token, secret=secret)
    return None
