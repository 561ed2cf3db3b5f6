"""Task boards in the browser: board list, board page with columns, htmx partials."""

from flask import Blueprint

bp = Blueprint("boards", __name__, url_prefix="/boards")

# Importing the routes imports services.boards, which registers the sign-up hook that gives
# every new account its default board.
from webapp.boards import routes  # noqa: E402,F401
