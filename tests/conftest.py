"""Fixtures in the style of Flask's tutorial: ``app``, ``client``, ``runner``, ``auth``, plus
API helpers. The database is migrated once per session with Alembic (the only way the
schema is made) and emptied after every test, so tests are isolated.

SQLite by default (a temporary file); PostgreSQL when DATABASE_URL points at one.
"""

from __future__ import annotations

import os

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, make_url, text

from tests.utils.auth import ApiAuth, AuthActions
from webapp import ROOT, create_app, security
from webapp.db import get_engine, normalize_url
from webapp.models import Base

# Hypothesis profiles, chosen by HYPOTHESIS_PROFILE (hypothesis' own CI detection otherwise).
# "ci" (.ci/run sets it): the same examples on every run, so a red build means the code
# changed, never the seed. "dev" (local default): random exploration, with failing examples
# kept in .hypothesis/ (git-ignored) and replayed first on the next run. Neither has a
# deadline or the too_slow health check: both time the machine, not the code, and a loaded
# 2-core machine trips them; speed is measured under bench/.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, **_UNTIMED)
hypothesis_settings.register_profile("dev", **_UNTIMED)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if hypothesis_settings.get_current_profile_name() == "ci" else "dev")
)

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def _reset_postgres(url: str) -> None:
    name = make_url(url).database or ""
    if "test" not in name:
        pytest.exit(
            f"Refusing to wipe database {name!r}: test databases must have 'test' in the name."
        )
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        url = normalize_url(url)
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    command.upgrade(alembic_config(url), "head")
    return url


def make_test_app(database_url: str, instance_path, **overrides):
    config = {
        "TESTING": True,
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "JWT_SECRET_KEY": TEST_SECRET + "-jwt",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "REDIS_URL": None,
        "INSTANCE_PATH": str(instance_path),
        # Tests start the run sweeper themselves where they test it.
        "RUN_SWEEP_SECONDS": 0,
    }
    config.update(overrides)
    return create_app(config)


def _empty_tables(app) -> None:
    engine = get_engine()
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture(autouse=True)
def fast_bcrypt(request, monkeypatch):
    """bcrypt's lowest work factor: the suite hashes and checks many passwords (schemathesis
    logs in hundreds of times); the logic is the same, only the cost is lower. Tests marked
    ``production_bcrypt`` keep the real work factor."""
    if request.node.get_closest_marker("production_bcrypt") is None:
        monkeypatch.setattr(security, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the app's settings for its tests."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config):
    app = make_test_app(database_url, tmp_path / "instance", **app_config)
    yield app
    with app.app_context():
        _empty_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client, app):
    """Browser log-in helper: ``auth.signup()``, ``auth.login()``, ``auth.logout()``."""
    return AuthActions(client, app)


@pytest.fixture
def api(client, app):
    """API helper: ``api.register()``, ``api.login()``, ``api.headers(...)``."""
    return ApiAuth(client, app)


@pytest.fixture
def user_headers(api) -> dict:
    """Bearer headers of a fresh user 'alice'."""
    return api.headers("alice")


@pytest.fixture
def other_headers(api) -> dict:
    """Bearer headers of a second user 'mallory', for tenant-isolation tests."""
    return api.headers("mallory")
