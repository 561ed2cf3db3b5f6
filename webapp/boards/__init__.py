"""Task boards in the browser: board list, board page with columns, htmx partials."""

from flask import Blueprint

bp = Blueprint("boards", __name__, url_prefix="/boards")

from webapp.boards import routes  # noqa: E402,F401
