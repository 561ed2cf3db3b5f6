"""Training pages: start runs and watch them live (/runs), models and predictions (/models)."""

from flask import Blueprint

bp = Blueprint("ml", __name__)

from webapp.ml import model_routes, run_routes  # noqa: E402,F401


@bp.app_template_global("now_utc")
def _now_utc():
    from webapp.db import utcnow

    return utcnow()
