"""The OpenAPI document of the API itself."""

from flask import current_app, jsonify

from webapp.api import bp
from webapp.api.openapi import build_openapi


@bp.get("/openapi.json", strict_slashes=False)
def openapi_document():
    """The OpenAPI 3.1 document, generated from the schemas that validate requests."""
    spec = current_app.extensions.get("openapi_spec")
    if spec is None:
        spec = current_app.extensions["openapi_spec"] = build_openapi(current_app.config["VERSION"])
    return jsonify(spec)
