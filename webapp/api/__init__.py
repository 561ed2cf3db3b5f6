"""The JSON API under /api/v1 (bearer JWTs; errors always JSON)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Route modules register their operations on ``bp`` when imported.
from webapp.api import meta  # noqa: E402,F401
