"""Settings, read from the environment only (12-factor); tests pass overrides to create_app."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot be used (raised at start-up, with what to set)."""


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None


def load_config() -> dict:
    """Return the app configuration from environment variables, with defaults for development."""
    secret_key = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    return {
        "APP_ENV": os.environ.get("APP_ENV", "development"),
        "SECRET_KEY": secret_key,
        "JWT_SECRET_KEY": os.environ.get("JWT_SECRET_KEY") or derive_jwt_secret(secret_key),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or None,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "ACCESS_TOKEN_MINUTES": _int_env("ACCESS_TOKEN_MINUTES", 30),
        "REFRESH_TOKEN_DAYS": _int_env("REFRESH_TOKEN_DAYS", 14),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "MAX_CONTENT_LENGTH": _int_env("MAX_UPLOAD_MB", 50) * 1024 * 1024,
        "MAX_DATASET_ROWS": _int_env("MAX_DATASET_ROWS", 1_000_000),
        "MAX_DATASET_COLUMNS": _int_env("MAX_DATASET_COLUMNS", 500),
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int_env("REMEMBER_DAYS", 30)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
    }


def derive_jwt_secret(secret_key: str) -> str:
    """A JWT key derived from SECRET_KEY, so one secret is enough, yet the two are never equal."""
    return hashlib.sha256(b"playground-jwt:" + secret_key.encode()).hexdigest()


def check_production_secrets(config: dict) -> None:
    """Refuse to run in production with a default or short secret."""
    if config.get("APP_ENV") != "production":
        return
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH:
        problems.append(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters"
        )
    # The effective key, so overrides passed to create_app are checked too; the key derived
    # from the default SECRET_KEY is public, whatever SECRET_KEY says now.
    jwt_secret = config.get("JWT_SECRET_KEY") or ""
    if len(jwt_secret) < MIN_SECRET_LENGTH or jwt_secret == derive_jwt_secret(DEFAULT_SECRET_KEY):
        problems.append(
            f"JWT_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters (or unset, to "
            "derive it from a good SECRET_KEY)"
        )
    if problems:
        raise ConfigError(
            "Refusing to start with APP_ENV=production: "
            + "; ".join(problems)
            + ". Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
