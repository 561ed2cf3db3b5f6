"""Home page and what every page's layout needs (the probes are in ``health.py``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

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
