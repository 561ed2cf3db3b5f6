"""Accounts: create, authenticate, update, delete; refresh-token bookkeeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import Conflict, Unauthorized, ValidationFailed, field_error
from webapp.models import RefreshToken, User
from webapp.models.user import new_security_stamp
from webapp.security import (
    REFRESH,
    TokenError,
    create_token,
    decode_token,
    hash_password,
    password_problem,
    verify_password,
)

USERNAME_MIN, USERNAME_MAX = 3, 32
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def normalize_email(email: str) -> str:
    """Return the canonical form of ``email`` or raise ``ValueError`` with the reason."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def username_problem(username: str) -> str | None:
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        return f"Username must be {USERNAME_MIN} to {USERNAME_MAX} characters long."
    if not set(username) <= USERNAME_CHARS:
        return "Username may contain only letters, digits, '_', '.' and '-'."
    if "@" in username:
        return "Username may not contain '@'."
    return None


def _check_fields(*, email=None, username=None, password=None) -> dict:
    """Validate the given fields; return normalised values or raise ValidationFailed."""
    errors, clean = [], {}
    if email is not None:
        try:
            clean["email"] = normalize_email(email)
        except ValueError as exc:
            errors.append(field_error("email", str(exc)))
    if username is not None:
        username = username.strip()
        problem = username_problem(username)
        if problem:
            errors.append(field_error("username", problem))
        clean["username"] = username
    if password is not None:
        problem = password_problem(password)
        if problem:
            errors.append(field_error("password", problem))
        clean["password"] = password
    if errors:
        raise ValidationFailed("Some fields are not valid.", details=errors)
    return clean


def _check_unique(session: Session, *, email=None, username=None, exclude_id=None) -> None:
    conflicts = []
    for column, value in ((User.email, email), (User.username, username)):
        if value is None:
            continue
        query = select(User.id).where(func.lower(column) == value.lower())
        if exclude_id is not None:
            query = query.where(User.id != exclude_id)
        if session.scalar(query) is not None:
            conflicts.append(
                field_error(column.key, f"This {column.key} is already taken.", "already_exists")
            )
    if conflicts:
        raise Conflict("An account with these details already exists.", details=conflicts)


def create_user(*, session: Session, email: str, username: str, password: str) -> User:
    clean = _check_fields(email=email, username=username, password=password)
    _check_unique(session, email=clean["email"], username=clean["username"])
    user = User(
        email=clean["email"],
        username=clean["username"],
        password_hash=hash_password(clean["password"]),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent sign-up won the race
        session.rollback()
        raise Conflict("An account with these details already exists.") from None
    session.commit()
    return user


def find_by_login(session: Session, login: str) -> User | None:
    login = login.strip().lower()
    return session.scalar(
        select(User).where(or_(func.lower(User.username) == login, User.email == login))
    )


def authenticate(*, session: Session, login: str, password: str) -> User | None:
    """The user for ``login`` (username or email) and ``password``, or None.

    An unknown login is checked against a dummy hash, so both failures cost the same time.
    """
    user = find_by_login(session, login or "")
    if not verify_password(password or "", user.password_hash if user else None):
        return None
    if not user.is_active:
        return None
    return user


def update_user(
    *,
    session: Session,
    user: User,
    email: str | None = None,
    username: str | None = None,
    password: str | None = None,
    current_password: str | None = None,
    require_current_password: bool = False,
) -> User:
    """Change username, email and/or password.

    With ``require_current_password`` a password change needs the right ``current_password``.
    """
    clean = _check_fields(email=email, username=username, password=password)
    if (
        "password" in clean
        and require_current_password
        and not verify_password(current_password or "", user.password_hash)
    ):
        raise ValidationFailed(
            "The current password is not correct.",
            details=[field_error("current_password", "The current password is not correct.")],
        )
    _check_unique(
        session, email=clean.get("email"), username=clean.get("username"), exclude_id=user.id
    )
    if "email" in clean:
        user.email = clean["email"]
    if "username" in clean:
        user.username = clean["username"]
    if "password" in clean:
        user.password_hash = hash_password(clean["password"])
        user.security_stamp = new_security_stamp()
        revoke_all_refresh_tokens(session=session, user=user)
    session.commit()
    return user


def delete_user(*, session: Session, user: User) -> None:
    """Delete the account and everything it owns (foreign keys cascade)."""
    session.delete(user)
    session.commit()


def issue_tokens(
    *, session: Session, user: User, secret: str, access_minutes: int, refresh_days: int
) -> dict:
    access, _, _ = create_token(
        user_id=user.id,
        token_type="access",
        secret=secret,
        lifetime=timedelta(minutes=access_minutes),
    )
    refresh, jti, expires_at = create_token(
        user_id=user.id, token_type=REFRESH, secret=secret, lifetime=timedelta(days=refresh_days)
    )
    session.add(RefreshToken(jti=jti, user_id=user.id, expires_at=expires_at))
    session.commit()
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": access_minutes * 60,
        "refresh_token": refresh,
    }


def _live_refresh_token(session: Session, token: str, secret: str) -> RefreshToken:
    try:
        claims = decode_token(token, secret=secret, expected_type=REFRESH)
    except TokenError as exc:
        raise Unauthorized(str(exc)) from None
    stored = session.scalar(select(RefreshToken).where(RefreshToken.jti == claims["jti"]))
    if stored is None or stored.revoked_at is not None:
        raise Unauthorized("This refresh token has been revoked.")
    if stored.user is None or not stored.user.is_active:
        raise Unauthorized("The account for this token no longer exists or is disabled.")
    return stored


def refresh_tokens(
    *, session: Session, token: str, secret: str, access_minutes: int, refresh_days: int
) -> dict:
    """Trade a live refresh token for a new access token and a new refresh token (rotation)."""
    stored = _live_refresh_token(session, token, secret)
    stored.revoked_at = utcnow()
    return issue_tokens(
        session=session,
        user=stored.user,
        secret=secret,
        access_minutes=access_minutes,
        refresh_days=refresh_days,
    )


def revoke_refresh_token(*, session: Session, token: str, secret: str) -> None:
    stored = _live_refresh_token(session, token, secret)
    stored.revoked_at = utcnow()
    session.commit()


def revoke_all_refresh_tokens(*, session: Session, user: User) -> None:
    now: datetime = utcnow()
    for stored in user.refresh_tokens:
        if stored.revoked_at is None:
            stored.revoked_at = now
