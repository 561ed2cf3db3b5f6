"""Settings, read from the environment only (12-factor); tests pass overrides to create_app.

:data:`SETTINGS` is the one list of what can be set: :func:`load_config` reads it, and the
README's configuration table documents it row for row (``tests/test_config.py`` compares
the two, so a setting cannot be added to one and forgotten in the other). Nothing else in
the app reads ``os.environ``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

# A public placeholder for development; production refuses to start with it.
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105
MIN_SECRET_LENGTH = 32
ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The configuration cannot be used (raised at start-up, with what to set)."""


def _text(raw: str) -> str:
    return raw


def _whole(raw: str) -> int:
    return int(raw)


def _number(raw: str) -> float:
    return float(raw)


def _optional(raw: str) -> str | None:
    return raw or None


def _choice(*allowed: str):
    def parse(raw: str) -> str:
        if raw.lower() not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return raw.lower()

    return parse


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it lands in ``app.config`` and how it is read."""

    env: str
    default: object
    help: str
    key: str | None = None  # the app.config key, when it differs from ``env``
    parse: Callable[[str], object] = _text
    convert: Callable[[object], object] | None = None  # applied to the parsed value or default
    shown: str | None = None  # the default as the README shows it (Markdown), if not the value

    @property
    def config_key(self) -> str:
        return self.key or self.env

    @property
    def default_text(self) -> str:
        if self.shown is not None:
            return self.shown
        return "unset" if self.default is None else f"`{self.default}`"

    def read(self, environ) -> object:
        raw = environ.get(self.env)
        if raw is None or (raw.strip() == "" and self.parse is not _optional):
            value = self.default
        else:
            try:
                value = self.parse(raw.strip())
            except ValueError as exc:
                kind = {_whole: "a whole number", _number: "a number"}.get(self.parse, str(exc))
                raise ConfigError(f"{self.env} must be {kind}, got {raw!r}.") from None
        return self.convert(value) if self.convert is not None and value is not None else value


def _megabytes(value) -> int:
    return int(value) * 1024 * 1024


def _days(value) -> timedelta:
    return timedelta(days=int(value))


# The order is the README table's order.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL; PostgreSQL as `postgresql+psycopg://user:pass@host/db` (`postgres://` "
        "works too)",
        parse=_optional,
        shown="`sqlite:///instance/playground.db`",
    ),
    Setting(
        "SECRET_KEY",
        DEFAULT_SECRET_KEY,
        "signs sessions and CSRF tokens; required (≥ 32 chars) when `APP_ENV=production`",
        shown="a development placeholder",
    ),
    Setting(
        "JWT_SECRET_KEY",
        None,
        "signs API tokens (HS256)",
        parse=_optional,
        shown="derived from `SECRET_KEY`",
    ),
    Setting(
        "APP_ENV", "development", "`production` refuses to start with a default or short secret"
    ),
    Setting(
        "SECURE_COOKIES",
        "auto",
        "`auto`: session and remember-me cookies are sent over HTTPS only when "
        "`APP_ENV=production`; `on`: always; `off`: never (only for a server reached over plain "
        "HTTP on a network you trust)",
        parse=_choice("auto", "on", "off"),
    ),
    Setting("ACCESS_TOKEN_MINUTES", 30, "access token lifetime", parse=_whole),
    Setting("REFRESH_TOKEN_DAYS", 14, "refresh token lifetime", parse=_whole),
    Setting(
        "REMEMBER_DAYS",
        30,
        '"remember me" cookie lifetime',
        key="REMEMBER_COOKIE_DURATION",
        parse=_whole,
        convert=_days,
    ),
    Setting(
        "LOGIN_RATE_LIMIT",
        "10 per minute",
        "failed log-ins allowed per client address (browser and API together)",
    ),
    Setting(
        "LOGIN_ACCOUNT_RATE_LIMIT",
        "30 per hour",
        "failed log-ins allowed per account, from all addresses together (so many addresses "
        "cannot guess one password; kept above the per-address limit, since anyone can use "
        "it up for an account)",
    ),
    Setting(
        "SIGNUP_RATE_LIMIT",
        "10 per hour",
        "accounts that one client address may create (browser and API together)",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "how many reverse proxies stand in front of the app: the client address (for rate "
        "limits), scheme and host are taken from that many `X-Forwarded-*` hops; 0 ignores "
        "those headers",
        parse=_whole,
    ),
    Setting(
        "MAX_UPLOAD_MB",
        50,
        "largest request body (CSV uploads answer 413 beyond it)",
        key="MAX_CONTENT_LENGTH",
        parse=_whole,
        convert=_megabytes,
    ),
    Setting("MAX_DATASET_ROWS", 1_000_000, "most rows a data set may have", parse=_whole),
    Setting(
        "STORAGE_QUOTA_MB",
        500,
        "most megabytes of data set files one user may keep (an upload beyond it answers 413)",
        key="STORAGE_QUOTA_BYTES",
        parse=_whole,
        convert=_megabytes,
    ),
    Setting(
        "UPLOADS_PER_HOUR",
        30,
        "data sets one user may upload or load per hour (429 beyond it)",
        parse=_whole,
    ),
    Setting("MAX_DATASET_COLUMNS", 500, "most columns a data set may have", parse=_whole),
    Setting(
        "REDIS_URL",
        None,
        "when set, training runs go to RQ on Redis and run in `flask worker` processes (`make "
        "worker`), and rate limits are kept in Redis (shared by all web servers); unset, runs "
        "execute in a pool inside the web process",
        parse=_optional,
    ),
    Setting(
        "JOBS_BACKEND",
        "auto",
        "`auto` (RQ when `REDIS_URL` is set, else in-process) or `inprocess` (never RQ)",
    ),
    Setting("JOB_WORKERS", 2, "threads of the in-process job pool", parse=_whole),
    Setting(
        "MAX_ACTIVE_RUNS",
        5,
        "training runs one user may have queued or running at once (429 beyond it)",
        parse=_whole,
    ),
    Setting(
        "RUNS_PER_USER_AT_ONCE",
        1,
        "runs of one user that train (or, with RQ, wait on the queue) at the same time; the "
        "user's other runs wait their turn, so one user's queue never holds up another's run",
        parse=_whole,
    ),
    Setting("RQ_QUEUE", "playground", "RQ queue name"),
    Setting(
        "RUN_HEARTBEAT_SECONDS",
        5,
        "a running job stamps its run this often (seconds)",
        parse=_number,
    ),
    Setting(
        "RUN_HEARTBEAT_TIMEOUT",
        60,
        "a running run silent this long (seconds) is marked failed: its worker died",
        parse=_number,
    ),
    Setting(
        "RUN_SWEEP_SECONDS",
        10,
        "how often (seconds) every web server and worker fails runs whose worker died and "
        "recovers runs lost by a restart (0: never)",
        parse=_number,
    ),
    Setting(
        "RUN_TIMEOUT_SECONDS", 3600, "longest a training run may take on RQ (seconds)", parse=_whole
    ),
    Setting(
        "IDEMPOTENCY_KEY_HOURS",
        24,
        "how long (hours) the API remembers an `Idempotency-Key` and replays its answer",
        parse=_whole,
    ),
    Setting("LOG_FORMAT", "text", "`text`, or `json` for one JSON object per log line"),
    Setting("LOG_LEVEL", "INFO", "the lowest level logged (`DEBUG`, `INFO`, `WARNING`, ...)"),
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        None,
        "a directory shared by the processes of one server, so `/metrics` adds up all "
        "gunicorn workers (`gunicorn.conf.py` sets it); unset, each process counts alone",
        parse=_optional,
    ),
    Setting(
        "INSTANCE_PATH",
        str(ROOT / "instance"),
        "where the SQLite database and local files live",
        shown="`./instance`",
    ),
)


def load_config(environ=None) -> dict:
    """The app configuration from ``environ`` (default: the process environment)."""
    environ = os.environ if environ is None else environ
    config = {setting.config_key: setting.read(environ) for setting in SETTINGS}
    if config["JWT_SECRET_KEY"] is None:
        config["JWT_SECRET_KEY"] = derive_jwt_secret(config["SECRET_KEY"])
    config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Rate limits fail open: when their storage (Redis) is down, each process keeps
        # them in memory (and says so in the log and at /ready) rather than refusing log-ins.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1},
    )
    return config


def secure_cookies(config: dict) -> None:
    """Cookies over HTTPS only in production (``SECURE_COOKIES=auto``), or as set."""
    choice = config.get("SECURE_COOKIES", "auto")
    secure = config.get("APP_ENV") == "production" if choice == "auto" else choice == "on"
    if secure:
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True


def database_url(config: dict) -> str:
    """``DATABASE_URL``, or the embedded SQLite database under ``INSTANCE_PATH``."""
    return config.get("DATABASE_URL") or (
        f"sqlite:///{Path(config['INSTANCE_PATH']).resolve() / 'playground.db'}"
    )


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
