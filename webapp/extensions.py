"""Flask extensions, created here and bound to the app in ``create_app``; the rate limits.

Rate limits live in ``RATELIMIT_STORAGE_URI`` (memory by default, Redis when ``REDIS_URL`` is
set). They **fail open**: when Redis does not answer, flask-limiter logs "Rate limit storage
unreachable - falling back to in-memory storage" and keeps the same limits in this process's
memory until Redis is back (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``, see config.py), so a
Redis outage never stops log-ins; :func:`limiter_status` tells ``/ready``.

The client address is ``request.remote_addr``, which ``TRUSTED_PROXIES`` (ProxyFix, see
``webapp.hardening``) makes the real client's behind a proxy.
"""

from __future__ import annotations

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"

csrf = CSRFProtect()

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def limiter_status() -> dict:
    """Where rate limits are kept and whether that storage answers, for ``/ready``:
    ``{"storage": "redis", "ok": False, "detail": "..."}``. Pings the storage once."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    kind = uri.split(":", 1)[0]
    try:
        ok = bool(limiter.storage.check())
    except Exception:  # any storage error means "not answering"
        ok = False
    detail = "ok" if ok else "unreachable: each process keeps the limits in memory until it is back"
    return {"storage": kind, "ok": ok, "detail": detail}


def check_limits_only_where_declared(app) -> None:
    """Drop flask-limiter's check before every request when nothing applies to every request.

    That hook is how application-wide, default and blueprint limits are enforced; ours are
    all declared on views (log-in, sign-up), whose decorators check them when the view is
    called, so for every other request the hook resolved an empty list of limits: 4-7% of
    the CPU of an API list or a board page (py-spy under load). Should such limits ever be
    configured (``RATELIMIT_DEFAULT``, ``RATELIMIT_APPLICATION``), the hook stays."""
    manager = limiter.limit_manager  # the groups, not their limits: no app context needed
    if manager._application_limits or manager._default_limits or manager._blueprint_limits:
        return
    app.before_request_funcs[None].remove(limiter._check_request_limit)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_failed(_response) -> bool:
    return bool(g.get("login_failed"))


def login_name() -> str:
    """The account a log-in attempt names (browser form ``login``, API ``username``, as JSON
    or form fields), folded as log-in folds it; never empty (an empty key skips a limit)."""
    name = request.form.get("login") or request.form.get("username")
    if name is None and request.is_json:
        data = request.get_json(silent=True)
        name = data.get("username") if isinstance(data, dict) else None
    name = name.strip().lower()[:254] if isinstance(name, str) else ""
    return "account:" + (name or "-")


# Only failed attempts count (a view sets ``g.login_failed = True``), shared by the browser
# form and the API so neither is a way around the other: per client address, and per account
# from every address together (150 addresses guessing one password share one budget).
_per_address = limiter.shared_limit(_login_limit, scope="login", deduct_when=_login_failed)
_per_account = limiter.shared_limit(
    _account_limit, scope="login-account", key_func=login_name, deduct_when=_login_failed
)


def login_rate_limit(view):
    return _per_account(_per_address(view))


def _signup_limit() -> str:
    return current_app.config["SIGNUP_RATE_LIMIT"]


def _signed_up(_response) -> bool:
    return bool(g.get("signed_up"))


# Accounts made per client address (a view sets ``g.signed_up = True``), browser and API
# together; a form sent back with errors costs nothing.
signup_rate_limit = limiter.shared_limit(_signup_limit, scope="signup", deduct_when=_signed_up)
