"""``/api/docs``: interactive API documentation (Swagger UI, vendored in static/, no CDN).

It lives outside ``/api/v1`` on its own blueprint, which the API blueprint registers on
the app when the API itself is registered (see ``webapp/api/__init__.py``).
"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api")


@docs_bp.get("/docs", strict_slashes=False)
def docs():
    return render_template("api/docs.html", spec_url=url_for("api.openapi_document"))
