"""The JSON API under /api/v1 (bearer JWTs; errors always JSON)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Route modules register their operations on ``bp`` when imported (one module per resource).
from webapp.api import (  # noqa: E402,F401
    auth,
    boards,
    datasets,
    meta,
    ml_models,
    runs,
    tasks,
    tokens,
    users,
)
from webapp.api.docs import docs_bp  # noqa: E402

# The docs page is at /api/docs, outside bp's prefix: register its blueprint with the API.
bp.record_once(lambda state: state.app.register_blueprint(docs_bp))
