"""Home page and what every page's layout needs (the probes are in ``health.py``)."""

from __future__ import annotations

from flask import current_app, has_request_context, render_template, request, url_for
from flask_login import current_user

from webapp.main import bp

# The sections of the navigation: (label, endpoint, needs a logged-in user).
NAV_SECTIONS = (
    ("Boards", "boards.index", True),
    ("Data sets", "datasets.index", True),
    ("Runs", "ml.runs_index", True),
    ("Models", "ml.models_index", True),
    ("API docs", "api_docs.docs", False),
)
# A page belongs to the section whose URL its path starts with, except these, which belong
# where people reach them from: the runs compared on a data set (/datasets/<id>/runs) are
# listed from Runs and a run's page, say "Runs ›" in their breadcrumb and lead to run diffs.
SECTION_OF = {"ml.compare_runs": "ml.runs_index"}


@bp.app_context_processor
def layout_context() -> dict:
    if not has_request_context():  # e.g. a template rendered by a CLI command or a job
        return {"viewer": None, "nav_items": []}
    # While the database is down the user loader answers "visitor" (see load_user), so
    # error pages still render.
    viewer = current_user if current_user.is_authenticated else None
    nav_items = []
    section = SECTION_OF.get(request.endpoint)
    for label, endpoint, private in NAV_SECTIONS:
        if viewer or not private:
            href = url_for(endpoint)
            if section:
                active = endpoint == section
            else:
                active = request.path == href or request.path.startswith(href.rstrip("/") + "/")
            nav_items.append({"label": label, "href": href, "active": active})
    return {"viewer": viewer, "nav_items": nav_items}


@bp.get("/")
def index():
    return render_template("main/index.html")


@bp.get("/favicon.ico")
def favicon():
    """Browsers and tools ask for /favicon.ico whatever the page says: a real icon."""
    response = current_app.send_static_file("favicon.ico")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
