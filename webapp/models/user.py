"""Accounts, the refresh tokens issued to them and their personal API tokens."""

from __future__ import annotations

import secrets
import time
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, UTCDateTime, utcnow


def new_security_stamp() -> str:
    return secrets.token_hex(16)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    username: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rotated on password change and on log-out: browser sessions, remember-me cookies and
    # API access tokens carry it (see webapp.security), so rotating it ends them all.
    security_stamp: Mapped[str] = mapped_column(String(32), default=new_security_stamp)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    refresh_tokens: Mapped[list[RefreshToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What a browser session and its remember-me cookie carry: the id, the security
        stamp (rotated at log-out and password change, which ends them) and the log-in time
        (a log-in expires after ``REMEMBER_DAYS`` even if the cookie is kept)."""
        return f"{self.id}:{self.security_stamp}:{int(time.time())}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class RefreshToken(Base):
    """A refresh token we issued, by its JWT id; revoked on log-out or when used.

    Every token traded for another stays in the same ``family`` (one per log-in); a revoked
    token presented again revokes its whole family (see ``services.users.refresh_tokens``).
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="refresh_tokens")


class ApiToken(Base):
    """A personal API token for scripts: shown once, stored as a SHA-256 digest.

    The token itself is 256 random bits, so a fast digest is enough (nothing to guess);
    ``prefix`` is its first characters, shown on the account page to tell tokens apart.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(8))  # "read" or "write"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship(back_populates="api_tokens")
