from flask import Blueprint

bp = Blueprint("main", __name__)

from webapp.main import health, routes  # noqa: E402,F401
