"""Sign-up, log-in, log-out and the account page in the browser."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from webapp.auth import routes  # noqa: E402,F401
