"""Application errors and the one dispatcher that answers JSON under /api/ and HTML elsewhere.

Services raise the ``AppError`` subclasses below (they know nothing of Flask); routes let
them propagate and the dispatcher turns them into responses.

A database that does not answer (refused or dropped connections, a failover, a full pool)
is not a bug in the request: the dispatcher answers 503 with ``Retry-After`` instead of 500,
so clients and load balancers back off and retry. Nothing needs restarting afterwards: the
session is rolled back, the engine's pool drops dead connections (pinged after an idle
spell, replaced after a failure: ``webapp.db._ping_when_idle``) and the next request
connects again. A 503 does not say the write was not saved (the commit may have landed
before the connection broke): API clients retry creations safely with an
``Idempotency-Key`` (:mod:`webapp.api.idempotency`).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# What a 503 asks clients to wait: PostgreSQL restarts or fails over in seconds.
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = "The database is not answering. Please try again in a few seconds."
# SQLite reports mistakes in the SQL as OperationalError too: those are bugs, not outages.
_SQL_MISTAKES = ("no such table", "no such column", "syntax error", "has no column")


class AppError(Exception):
    """An error with an HTTP status, a stable machine-readable code and a readable message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[dict] | None = None, headers=None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "Authentication required.", **kwargs):
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')


class Forbidden(AppError):
    """Authenticated, but this credential may not do that (e.g. a read-only API token)."""

    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class PreconditionFailed(AppError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(AppError):
    """Over a quota or rate; the message says which limit (and ``Retry-After`` when known)."""

    status, code = 429, "too_many_requests"


class ServiceUnavailable(AppError):
    """Something the request needs (the job queue, the database) is not answering."""

    status, code = 503, "service_unavailable"

    def __init__(self, message: str, **kwargs):
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))


class ValidationFailed(AppError):
    """Input that is well-formed but wrong; ``details`` name the fields."""

    status, code = 422, "validation_error"


def field_error(field: str, message: str, type_: str = "value_error") -> dict:
    return {"field": field, "message": message, "type": type_}


# The stable ``error.code`` of each status (the OpenAPI document lists them too).
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}

_HTML_TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "File too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_body(status: int, message: str, details: list | None = None, code: str | None = None):
    return {
        "error": {
            "code": code or ERROR_CODES.get(status, "error"),
            "message": message,
            "details": details or [],
        }
    }


def _respond(status: int, message: str, *, code=None, details=None, headers=None) -> Response:
    if wants_json():
        response = jsonify(error_body(status, message, details, code))
    else:
        template = "errors/404.html" if status == 404 else "errors/error.html"
        title = _HTML_TITLES.get(status, "Error")
        response = Response(
            render_template(template, status=status, title=title, message=message),
            mimetype="text/html",
        )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def is_database_outage(exc: BaseException) -> bool:
    """True when ``exc`` means the database could not be reached or dropped the connection."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return not any(mistake in str(exc.orig).lower() for mistake in _SQL_MISTAKES)
    return False


def _rollback() -> None:
    from flask import g

    session = g.get("db_session")
    if session is not None:
        try:
            session.rollback()
        except Exception:  # the connection is gone; the pool discards it
            log.warning("Rolling back after an error failed", exc_info=True)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(exc: AppError):
        _rollback()
        return _respond(
            exc.status, exc.message, code=exc.code, details=exc.details, headers=exc.headers
        )

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        _rollback()
        status = exc.code or 500
        message = exc.description or _HTML_TITLES.get(status, "Error")
        if status == 413:
            limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) / (1024 * 1024)
            message = f"The request is larger than the {limit_mb:g} MB limit."
        headers = {k: v for k, v in exc.get_headers() if k.lower() in ("retry-after", "allow")}
        if status == 429:
            limit = f" (the limit is {exc.description})" if exc.description else ""
            message = f"Too many attempts{limit}. Please wait before trying again."
        if status == 503:
            headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
        return _respond(status, message, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        _rollback()
        if is_database_outage(exc):
            reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
            log.warning("Database unavailable on %s %s: %s", request.method, request.path, reason)
            return _respond(
                503,
                DATABASE_UNAVAILABLE,
                code="service_unavailable",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return _respond(500, "An unexpected error occurred. It has been logged.")
