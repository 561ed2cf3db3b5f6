"""Playground: the Flask application factory."""

from __future__ import annotations

from pathlib import Path

from webapp import db, hardening, observability
from webapp.config import (
    ROOT,
    check_production_secrets,
    database_url,
    derive_jwt_secret,
    load_config,
    secure_cookies,
)
from webapp.cookie_session import SignerOnceSessionInterface
from webapp.db import IdConverter
from webapp.errors import register_error_handlers
from webapp.extensions import check_limits_only_where_declared, csrf, limiter, login_manager
from webapp.flask_app import PlaygroundApp

__version__ = "0.1.0"


def create_app(config: dict | None = None) -> PlaygroundApp:
    """Build the app: settings from the environment, then ``config`` overrides (tests)."""
    base = load_config()
    settings = {**base, **(config or {})}
    if (
        config
        and "JWT_SECRET_KEY" not in config
        and base["JWT_SECRET_KEY"] == derive_jwt_secret(base["SECRET_KEY"])
    ):
        # The derived JWT key follows the SECRET_KEY actually in use, not the environment's.
        settings["JWT_SECRET_KEY"] = derive_jwt_secret(settings["SECRET_KEY"])
    app = PlaygroundApp(
        __name__,
        instance_path=str(Path(settings["INSTANCE_PATH"]).resolve()),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(settings)
    app.session_interface = SignerOnceSessionInterface()
    check_production_secrets(app.config)
    secure_cookies(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["INSTANCE_PATH"] = app.instance_path
    app.config["DATABASE_URL"] = database_url(app.config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config["VERSION"] = __version__
    observability.configure_logging(app.config)
    # Every <int:...> in our URLs is a database id: out of range is a 404 from routing.
    app.url_map.converters["int"] = IdConverter

    db.init_app(app)
    hardening.init_app(app)  # proxies, bounded JSON, NUL bytes, security headers
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    check_limits_only_where_declared(app)
    register_error_handlers(app)
    observability.init_app(app)  # request ids, request log lines and metrics

    from webapp import api, auth, boards, cli, datasets, jobs, main, ml

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(boards.bp)
    app.register_blueprint(datasets.bp)
    app.register_blueprint(ml.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # bearer tokens, not cookies, authenticate the API
    cli.register(app)
    jobs.start_sweeper(app)  # RUN_SWEEP_SECONDS=0 (the tests' default) leaves it off
    return app
