"""Home page, what every page's layout needs, and the health check."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from webapp.db import get_session
from webapp.main import bp

# Sections other features add later; a link appears once its page exists.
# (label, path, needs a logged-in user)
NAV_SECTIONS = (
    ("Boards", "/boards", True),
    ("Data sets", "/datasets", True),
    ("Runs", "/runs", True),
    ("Models", "/models", True),
    ("API docs", "/api/docs", False),
)


def _existing_path(path: str) -> str | None:
    """``path`` (or where it redirects, e.g. with a trailing slash) if a GET route serves it."""
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except RequestRedirect as redirect:
        return urlsplit(redirect.new_url).path
    except HTTPException:
        return None
    return path


@bp.app_context_processor
def layout_context() -> dict:
    if not has_request_context():  # e.g. a template rendered by a CLI command or a job
        return {"viewer": None, "nav_items": []}
    # While the database is down the user loader answers "visitor" (see load_user), so
    # error pages still render.
    viewer = current_user if current_user.is_authenticated else None
    nav_items = []
    for label, path, private in NAV_SECTIONS:
        href = _existing_path(path)
        if href and (viewer or not private):
            active = request.path == href or request.path.startswith(href.rstrip("/") + "/")
            nav_items.append({"label": label, "href": href, "active": active})
    return {"viewer": viewer, "nav_items": nav_items}


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


@bp.get("/favicon.ico")
def favicon():
    """Browsers and tools ask for /favicon.ico whatever the page says: a real icon."""
    response = current_app.send_static_file("favicon.ico")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
