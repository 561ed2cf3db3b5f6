"""Data set pages: upload a CSV file, see its profile and preview, re-parse, rename, delete."""

from flask import Blueprint

bp = Blueprint("datasets", __name__, url_prefix="/datasets")

from webapp.datasets import routes  # noqa: E402,F401
