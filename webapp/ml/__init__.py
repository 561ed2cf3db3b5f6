"""Training pages: start runs and watch them live (/runs), models and predictions (/models)."""

from flask import Blueprint

from webapp.models.ml import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED

bp = Blueprint("ml", __name__)

# How each run status looks (a badge style per status); tests check every status has one.
STATUS_BADGES = {
    QUEUED: "info",
    RUNNING: "info",
    SUCCEEDED: "success",
    FAILED: "danger",
    CANCELLED: "warning",
}
bp.add_app_template_global(STATUS_BADGES, "run_status_badges")

from webapp.ml import formatting, model_routes, run_routes  # noqa: E402,F401

formatting.register(bp)
