"""What every request and response goes through, whatever the route: the client's address
behind trusted proxies, input no database or header can hold, and the security headers.

- **Proxies.** ``TRUSTED_PROXIES`` (default 0) is how many reverse proxies stand in front of
  the app. Werkzeug's ``ProxyFix`` then takes the client address (and scheme and host) from
  that many ``X-Forwarded-*`` hops and no more, so a client cannot pick its own address for
  the rate limits by sending the header itself; with 0 the headers are ignored.
- **Input.** JSON nested deeper than :data:`MAX_JSON_DEPTH` is a 400 for every JSON body in
  the app (it is parsed by :class:`BoundedJSONProvider`; Python's parser would raise
  ``RecursionError`` past ~1,000 levels and the serialisers earlier). A NUL character in
  a query string, form field or uploaded file name is a 422: PostgreSQL cannot store it in
  text, and no name or option needs it. (JSON bodies of the API are checked with their field
  names by ``webapp.api.routing``.)
- **Headers.** A Content-Security-Policy with no inline or evaluated script, HSTS (when the
  request came over HTTPS), ``nosniff``, a referrer policy, ``frame-ancestors 'none'``, and
  ``Cache-Control: no-store`` on every answer that is not a static file, unless the view set
  its own: pages and API answers carry private data or tokens, and after log-out the
  browser's Back button must not show them from its cache.
"""

from __future__ import annotations

import json

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.errors import ValidationFailed, field_error

MAX_JSON_DEPTH = 32
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."

# style-src-attr 'unsafe-inline': progress and frequency bars are sized by a server-computed
# number in a style="width: N%" attribute. An attribute cannot run script, and every value
# is a number we format, so this is allowed rather than a class per percentage. Scripts and
# <style> elements get no such allowance. img-src data: is for Swagger UI's icons.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested deeper than :data:`MAX_JSON_DEPTH`."""

    def loads(self, s, **kwargs):
        try:
            data = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        return data


def json_depth(data) -> int:
    """How deeply lists and objects nest in ``data`` (0 for a scalar), without recursion.

    Level by level, keeping only the containers: a 10,000-row body is three levels of
    comprehensions instead of a Python step per value (about 7x faster).
    """
    containers = (dict, list)  # a tuple: ``dict | list`` would build a union per value
    depth, level = 0, [data] if isinstance(data, containers) else []
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return depth
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, containers)
        ]
    return depth


def _refuse_nul() -> None:
    # Only a form body has form fields and files: asking Werkzeug for them otherwise makes
    # it set up an empty form parse on every GET and JSON call: 1.4% of an API list's CPU
    # (py-spy; the check went from 2.5% to 1.1%).
    has_form = request.mimetype in FORM_TYPES
    problems = [
        field_error(key, NUL_MESSAGE)
        for source in ((request.args, request.form) if has_form else (request.args,))
        for key, values in source.lists()
        if "\0" in key or any("\0" in value for value in values)
    ]
    if has_form:
        problems += [
            field_error(key, NUL_MESSAGE)
            for key, files in request.files.lists()
            if any("\0" in (file.filename or "") for file in files)
        ]
    if problems:
        for problem in problems:
            problem["field"] = problem["field"].replace("\0", "\\u0000")
        raise ValidationFailed(NUL_MESSAGE, details=problems)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.json = BoundedJSONProvider(app)
    app.before_request(_refuse_nul)
    app.after_request(_security_headers)
