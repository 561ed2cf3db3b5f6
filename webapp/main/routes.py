"""Home page and the health check."""

from __future__ import annotations

from flask import current_app, jsonify, render_template
from sqlalchemy import text

from webapp.db import get_session
from webapp.main import bp


@bp.get("/")
def index():
    return render_template("main/index.html")


@bp.get("/health")
def health():
    """200 when the database answers, 503 when it does not."""
    try:
        get_session().execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any driver error means "down"; the reason is reported
        current_app.logger.warning("Health check: database unavailable: %s", exc)
        database = "unavailable"
    healthy = database == "ok"
    body = {
        "status": "ok" if healthy else "degraded",
        "version": current_app.config["VERSION"],
        "database": database,
    }
    return jsonify(body), 200 if healthy else 503
