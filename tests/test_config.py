"""Settings from the environment, and the refusal to run production on weak secrets."""

from __future__ import annotations

import pytest

from tests.conftest import make_test_app
from webapp.config import (
    DEFAULT_SECRET_KEY,
    ROOT,
    SETTINGS,
    ConfigError,
    check_production_secrets,
    derive_jwt_secret,
    load_config,
)

STRONG = "s" * 48
ENV_NAMES = ("APP_ENV", "SECRET_KEY", "JWT_SECRET_KEY", "ACCESS_TOKEN_MINUTES", "DATABASE_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def production(monkeypatch, **env) -> dict:
    monkeypatch.setenv("APP_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_config()


def test_development_defaults_are_accepted(clean_env):
    config = load_config()
    assert config["APP_ENV"] == "development"
    assert config["SECRET_KEY"] == DEFAULT_SECRET_KEY
    check_production_secrets(config)  # not production: no complaint


@pytest.mark.parametrize(
    "env",
    [
        {},  # the default secret
        {"SECRET_KEY": DEFAULT_SECRET_KEY},
        {"SECRET_KEY": "too-short"},
        {"SECRET_KEY": "x" * 31},
    ],
)
def test_production_refuses_default_or_short_secret_key(clean_env, env):
    config = production(clean_env, **env)
    with pytest.raises(ConfigError) as excinfo:
        check_production_secrets(config)
    message = str(excinfo.value)
    assert "SECRET_KEY" in message and "APP_ENV=production" in message
    assert "32" in message  # says how long
    assert "secrets.token_urlsafe" in message  # and how to make one


def test_production_refuses_short_jwt_secret(clean_env):
    config = production(clean_env, SECRET_KEY=STRONG, JWT_SECRET_KEY="short")
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        check_production_secrets(config)


def test_production_refuses_jwt_secret_derived_from_the_default(clean_env):
    """E.g. SECRET_KEY given to create_app as an override, JWT key still from the default."""
    config = production(clean_env) | {"SECRET_KEY": STRONG}
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        check_production_secrets(config)


def test_production_accepts_strong_secrets(clean_env):
    check_production_secrets(production(clean_env, SECRET_KEY=STRONG))
    check_production_secrets(production(clean_env, SECRET_KEY=STRONG, JWT_SECRET_KEY="j" * 40))


def test_create_app_refuses_to_start_in_production_with_the_default(clean_env, tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make_test_app("sqlite://", tmp_path, APP_ENV="production", SECRET_KEY=DEFAULT_SECRET_KEY)


def test_jwt_secret_is_derived_from_secret_key_by_default(clean_env):
    clean_env.setenv("SECRET_KEY", STRONG)
    config = load_config()
    assert config["JWT_SECRET_KEY"] == derive_jwt_secret(STRONG)
    assert config["JWT_SECRET_KEY"] != STRONG
    assert len(config["JWT_SECRET_KEY"]) >= 32
    clean_env.setenv("SECRET_KEY", STRONG + "!")
    assert load_config()["JWT_SECRET_KEY"] != config["JWT_SECRET_KEY"]  # follows SECRET_KEY


def test_explicit_jwt_secret_wins(clean_env):
    clean_env.setenv("SECRET_KEY", STRONG)
    clean_env.setenv("JWT_SECRET_KEY", "j" * 40)
    assert load_config()["JWT_SECRET_KEY"] == "j" * 40


def test_numbers_come_from_the_environment(clean_env):
    clean_env.setenv("ACCESS_TOKEN_MINUTES", "5")
    assert load_config()["ACCESS_TOKEN_MINUTES"] == 5
    clean_env.setenv("ACCESS_TOKEN_MINUTES", "")
    assert load_config()["ACCESS_TOKEN_MINUTES"] == 30


def test_bad_number_names_the_variable(clean_env):
    clean_env.setenv("ACCESS_TOKEN_MINUTES", "ten")
    with pytest.raises(ConfigError, match="ACCESS_TOKEN_MINUTES"):
        load_config()


def test_database_url_defaults_to_sqlite_in_the_instance_folder(clean_env, tmp_path):
    app = make_test_app(None, tmp_path / "instance")
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'playground.db'}"


def test_create_app_derives_the_jwt_key_from_an_overridden_secret_key(clean_env, tmp_path):
    from webapp import create_app

    app = create_app(
        {
            "SECRET_KEY": STRONG,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "RUN_SWEEP_SECONDS": 0,
        }
    )
    assert app.config["JWT_SECRET_KEY"] == derive_jwt_secret(STRONG)


def _readme_rows() -> list[tuple[str, str, str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| variable | default | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.strip().splitlines()[1:]:  # after the |---| line
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        rows.append(tuple(cells))
    return rows


def test_the_readme_table_is_the_list_of_settings():
    expected = [(f"`{s.env}`", s.default_text, s.help) for s in SETTINGS]
    assert _readme_rows() == expected


def test_every_setting_lands_in_the_config(clean_env):
    config = load_config({})
    assert {s.config_key for s in SETTINGS} <= set(config)


def test_nothing_but_the_config_module_reads_the_environment():
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "webapp").rglob("*.py")
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv(" in path.read_text()
    ]
    assert readers == ["webapp/config.py"]


def test_a_choice_names_what_it_accepts(clean_env):
    clean_env.setenv("SECURE_COOKIES", "sometimes")
    with pytest.raises(ConfigError, match="SECURE_COOKIES must be one of auto, on, off"):
        load_config()
