"""Pydantic schemas shared by the API: accounts, tokens and pagination.

They validate requests (via ``api_operation``) and describe them in the OpenAPI document, so
the two never disagree. Request models ignore unknown fields (``extra="ignore"``): clients
may send more than we read, and what we ignore is never stored. The services still check
what only they can (e.g. email syntax, uniqueness), answering 422/409 with field details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from webapp.db import MAX_ID
from webapp.security import MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH
from webapp.services.users import USERNAME_MAX, USERNAME_MIN

T = TypeVar("T")

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
EMAIL_MAX = 254
PASSWORD_RULE = (
    f"At least {MIN_PASSWORD_LENGTH} characters and at most {MAX_PASSWORD_BYTES} bytes "
    "in UTF-8 (bcrypt's limit); a longer password is refused with 422, never cut."
)


class ApiModel(BaseModel):
    """Base of request bodies: unknown fields are ignored, never an error."""

    model_config = ConfigDict(extra="ignore")


def _password(description: str = PASSWORD_RULE, **kwargs):
    # maxLength counts characters; the byte limit is checked by the service (422).
    return Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_BYTES,
        description=description,
        **kwargs,
    )


def _username(**kwargs):
    return Field(
        min_length=USERNAME_MIN,
        max_length=USERNAME_MAX,
        pattern=USERNAME_PATTERN,
        description="Letters, digits, '_', '.' and '-'; unique (case-insensitive).",
        **kwargs,
    )


def _email(**kwargs):
    return Field(
        max_length=EMAIL_MAX,
        json_schema_extra={"format": "email"},
        description="Unique; stored in lower case.",
        **kwargs,
    )


# -- accounts ------------------------------------------------------------------------------


class UserPublic(BaseModel):
    """An account as the API shows it (never the password hash)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "email": "alice@example.com",
                    "username": "alice",
                    "is_active": True,
                    "created_at": "2026-01-31T12:00:00Z",
                }
            ]
        },
    )

    id: int
    email: str
    username: str
    is_active: bool
    created_at: datetime


class UserCreate(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "alice@example.com",
                    "username": "alice",
                    "password": "correct-horse-battery",
                }
            ]
        }
    )

    email: str = _email()
    username: str = _username()
    password: str = _password()


class UserUpdate(ApiModel):
    """Fields to change; omitted (or null) fields stay as they are."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"username": "alice2"},
                {"password": "a-new-long-password", "current_password": "correct-horse-battery"},
            ]
        }
    )

    email: str | None = _email(default=None)
    username: str | None = _username(default=None)
    password: str | None = _password(
        PASSWORD_RULE + " Changing it needs `current_password` and ends every session and "
        "token of the account.",
        default=None,
    )
    current_password: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Required when `password` or a new `email` is given.",
    )


class AccountDelete(ApiModel):
    """Deleting the account needs its password."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"current_password": "correct-horse-battery"}]}
    )

    current_password: str = Field(min_length=1, max_length=1024)


# -- tokens --------------------------------------------------------------------------------


class LoginRequest(ApiModel):
    """Credentials, as JSON or as OAuth2 password-grant form fields (``grant_type`` etc.
    are ignored)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alice", "password": "correct-horse-battery"}]}
    )

    username: str = Field(min_length=1, max_length=EMAIL_MAX, description="Username or email.")
    password: str = Field(min_length=1, max_length=1024)


class LoginForm(ApiModel):
    """OAuth2 password-grant form fields (``application/x-www-form-urlencoded``)."""

    grant_type: str | None = Field(default=None, pattern="^password$", max_length=8)
    username: str = Field(min_length=1, max_length=EMAIL_MAX, description="Username or email.")
    password: str = Field(min_length=1, max_length=1024)
    scope: str | None = Field(default=None, max_length=1024, description="Ignored.")


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
                    "token_type": "bearer",
                    "expires_in": 1800,
                    "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
                }
            ]
        }
    )

    access_token: str = Field(description="Send as `Authorization: Bearer <access_token>`.")
    token_type: str = Field(default="bearer", description='Always "bearer".')
    expires_in: int = Field(description="Lifetime of the access token in seconds.")
    refresh_token: str = Field(
        description="Trade it once at /auth/refresh for a new pair; revoke it at /auth/logout."
    )


class RefreshRequest(ApiModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class LogoutRequest(RefreshRequest):
    everywhere: bool = Field(
        default=False,
        description="End every session of the account, not only this refresh token's.",
    )


# -- personal API tokens -------------------------------------------------------------------


class ApiTokenCreate(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "nightly export", "scope": "read"}]}
    )

    name: str = Field(min_length=1, max_length=64, description="To tell your tokens apart.")
    scope: Literal["read", "write"] = Field(
        default="read", description="`read`: GET requests only; `write`: everything else too."
    )


class ApiTokenPublic(BaseModel):
    """A personal API token as listed (the token itself is shown only when made)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scope: Literal["read", "write"]
    prefix: str = Field(description="The token's first characters, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="Last request made with it (to within a few minutes); null if never used."
    )


class ApiTokenCreated(ApiTokenPublic):
    token: str = Field(
        description="Send as `Authorization: Bearer <token>`. Shown this once: store it now."
    )


# -- pagination ----------------------------------------------------------------------------

DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 200


class PageQuery(ApiModel):
    """``?limit=&offset=`` of list operations; extend it for filters. ``offset`` stops at
    ``MAX_ID`` (no list can be longer): beyond 2**63 - 1 the databases refuse the number."""

    limit: int = Field(default=DEFAULT_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items`` plus ``total`` matching rows, for ``limit``/``offset``."""

    items: list[T]
    total: int = Field(ge=0)
    limit: int
    offset: int

    @classmethod
    def of(cls, items, *, total: int, query: PageQuery):
        # from_attributes: ``items`` may be ORM rows, read through ``T``'s fields.
        return cls.model_validate(
            {"items": list(items), "total": total, "limit": query.limit, "offset": query.offset},
            from_attributes=True,
        )
