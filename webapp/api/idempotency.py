"""``Idempotency-Key``: a POST sent again with the same key is answered, not carried out again.

A client that got no answer (a timeout, a 503 while the database restarted) cannot know
whether its POST took effect; retrying it blindly makes duplicates. With the header (any
token of 1–255 printable characters, e.g. a UUID per logical request) the API remembers the
answer per user and key for ``IDEMPOTENCY_KEY_HOURS``:

- same key, same request (method, path and body): the stored answer is replayed, with
  ``Idempotent-Replayed: true``;
- same key, another request: 422, nothing done;
- same key while the first request has not been answered: 409 with ``Retry-After``.

**Why it is safe.** The key's row is inserted in the request's own transaction before the
view runs and is committed by the view's first commit, together with what the view saved:
a row exists exactly when the work was done. On PostgreSQL a concurrent duplicate's INSERT
waits on the unique index for the first transaction and then sees its row; if the first
rolls back, the duplicate goes ahead. The answer is stored after the view returns. If that
fails (the database went away between the two) the row stays without an answer, and a retry
gets a 409 that says the request was carried out, rather than a duplicate. An error our code
raised on purpose (:class:`webapp.errors.AppError`: a 4xx, or a 503 for the job queue) leaves
nothing half-written by contract, so the key is released and a retry starts afresh. Only
answers below 500 are stored.

Expired rows are deleted when the same user claims a key (an index on ``expires_at`` keeps
that cheap), so the table holds at most a day of each user's POSTs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from webapp.db import get_session, utcnow
from webapp.errors import AppError, BadRequest, Conflict, ValidationFailed, field_error
from webapp.models.idempotency import KEY_MAX, IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers of the answer worth replaying (the body's type, where the object is, its version).
KEPT_HEADERS = ("Content-Type", "Location", "ETag")
# A row without an answer older than this was left by a request that saved its work and then
# lost the database; younger, the request is probably still running.
STILL_RUNNING = timedelta(seconds=60)

log = logging.getLogger(__name__)

# The header as the OpenAPI document declares it on every authenticated POST.
OPENAPI_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request replays the first answer "
        "(`Idempotent-Replayed: true`) instead of doing it again; with another request it "
        "is a 422. Keys are kept per user for `IDEMPOTENCY_KEY_HOURS` (default 24)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX, "pattern": "^[!-~]+$"},
}


def once(call: Callable[[], Response]) -> Response:
    """Answer the request with ``call()``, at most once per ``Idempotency-Key``."""
    key = request.headers.get(HEADER)
    user = g.get("api_user")
    if key is None or request.method != "POST" or user is None:
        return call()
    key = _valid_key(key)
    user_id = user.id
    fingerprint = _fingerprint()
    session = get_session()
    replay = _claim(session, user_id, key, fingerprint)
    if replay is not None:
        return replay
    try:
        response = call()
    except (AppError, HTTPException):
        _release(user_id, key)
        raise
    if response.status_code < 500:
        _record(session, user_id, key, fingerprint, response)
    else:
        _release(user_id, key)
    return response


def _valid_key(key: str) -> str:
    if not 1 <= len(key) <= KEY_MAX or not all("!" <= ch <= "~" for ch in key):
        raise BadRequest(
            f"The {HEADER} header must be 1 to {KEY_MAX} printable ASCII characters "
            "without spaces (a UUID is a good key).",
            details=[field_error(HEADER, "Invalid key.")],
        )
    return key


def _fingerprint() -> str:
    """The request's identity: method, path and body (parsed, so JSON key order and a
    multipart boundary do not matter)."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.is_json:
        body = request.get_json(silent=True)
        digest.update(json.dumps(body, sort_keys=True, default=str).encode())
    elif request.files or request.form:
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(json.dumps(["form", name, value]).encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            upload.stream.seek(0)
            content = hashlib.sha256(upload.stream.read()).hexdigest()
            upload.stream.seek(0)
            digest.update(json.dumps(["file", name, upload.filename, content]).encode())
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _claim(session, user_id: int, key: str, fingerprint: str) -> Response | None:
    """Insert the key's row in this request's transaction (None: go ahead), or answer from
    the row another request made (a replay, or an error)."""
    now = utcnow()
    hours = int(current_app.config["IDEMPOTENCY_KEY_HOURS"])
    for _attempt in range(3):
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.expires_at < now
            )
        )
        try:
            session.execute(
                insert(IdempotencyKey).values(
                    user_id=user_id,
                    key=key,
                    fingerprint=fingerprint,
                    created_at=now,
                    expires_at=now + timedelta(hours=hours),
                )
            )
            return None
        except IntegrityError:
            session.rollback()
        row = session.execute(
            select(
                IdempotencyKey.fingerprint,
                IdempotencyKey.status,
                IdempotencyKey.created_at,
                IdempotencyKey.response_headers,
                IdempotencyKey.response_body,
            ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        ).one_or_none()
        if row is None:  # the first request rolled back meanwhile: claim it again
            continue
        session.rollback()  # release the row lock or snapshot; we only read
        if row.fingerprint != fingerprint:
            raise ValidationFailed(
                f"This {HEADER} was already used for another request (another path or "
                "body). Use a new key for a new request.",
                details=[field_error(HEADER, "Key reused for a different request.")],
            )
        if row.status is None:
            if now - row.created_at < STILL_RUNNING:
                message = (
                    f"A request with this {HEADER} is still being carried out. Retry in a "
                    "moment to get its answer."
                )
            else:
                message = (
                    f"A request with this {HEADER} was carried out, but its answer was lost "
                    "(the database failed before it was recorded). It was not repeated: look "
                    "up the result instead of sending it again."
                )
            raise Conflict(message, headers={"Retry-After": "1"})
        response = Response(row.response_body or b"", status=row.status)
        for name, value in (row.response_headers or {}).items():
            response.headers[name] = value
        response.headers[REPLAYED_HEADER] = "true"
        return response
    raise Conflict(f"The {HEADER} is contended; retry.", headers={"Retry-After": "1"})


def _record(session, user_id: int, key: str, fingerprint: str, response: Response) -> None:
    """Store the answer (the row usually exists, committed by the view; a view that rolled
    back before committing took it along, so it is inserted again)."""
    values = {
        "status": response.status_code,
        "response_headers": {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
        "response_body": response.get_data(),
    }
    now = utcnow()
    hours = int(current_app.config["IDEMPOTENCY_KEY_HOURS"])
    try:
        result = session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            .values(**values)
        )
        if result.rowcount == 0:
            session.execute(
                insert(IdempotencyKey).values(
                    user_id=user_id,
                    key=key,
                    fingerprint=fingerprint,
                    created_at=now,
                    expires_at=now + timedelta(hours=hours),
                    **values,
                )
            )
        session.commit()
    except SQLAlchemyError:
        # The work is done and answered; only the replay is lost (a retry gets a 409).
        session.rollback()
        log.warning("Could not record the answer for %s %r", HEADER, key, exc_info=True)


def _release(user_id: int, key: str) -> None:
    """Forget an unanswered key after a deliberate error, so a retry is carried out."""
    session = get_session()
    try:
        session.rollback()
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.key == key,
                IdempotencyKey.status.is_(None),
            )
        )
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("Could not release %s %r", HEADER, key, exc_info=True)
