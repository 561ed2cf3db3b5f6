"""Flask extensions, created here and bound to the app in ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"

csrf = CSRFProtect()

# Storage comes from RATELIMIT_STORAGE_URI: memory by default, Redis when REDIS_URL is set.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_failed(_response) -> bool:
    from flask import g

    return bool(g.get("login_failed"))


# Only failed attempts count (a view sets ``g.login_failed = True``), per client address,
# shared by the browser form and the API so neither is a way around the other.
login_rate_limit = limiter.shared_limit(_login_limit, scope="login", deduct_when=_login_failed)
