"""Playground: the Flask application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from webapp import db
from webapp.config import check_production_secrets, derive_jwt_secret, load_config
from webapp.errors import register_error_handlers
from webapp.extensions import csrf, limiter, login_manager

__version__ = "0.1.0"
ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, then ``config`` overrides (tests)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(load_config())
    if config:
        app.config.from_mapping(config)
        if "JWT_SECRET_KEY" not in config and not os.environ.get("JWT_SECRET_KEY"):
            # The JWT key follows the SECRET_KEY actually in use, not the environment's.
            app.config["JWT_SECRET_KEY"] = derive_jwt_secret(app.config["SECRET_KEY"])
    check_production_secrets(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'playground.db'}"
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config["VERSION"] = __version__
    logging.basicConfig(level=logging.INFO)

    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    register_error_handlers(app)

    from webapp import api, auth, boards, cli, datasets, main, ml

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(boards.bp)
    app.register_blueprint(datasets.bp)
    app.register_blueprint(ml.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # bearer tokens, not cookies, authenticate the API
    cli.register(app)
    return app
