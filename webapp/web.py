"""What browser routes share: the request's user and owned objects, htmx requests, and
putting a service's errors on a form.

Services raise :class:`~webapp.errors.ValidationFailed` / :class:`~webapp.errors.Conflict`
whose ``details`` name fields; :func:`apply_service_errors` (WTForms) and
:func:`field_messages` (hand-built forms) are the only two ways those reach a page.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import g, request
from flask_login import current_user

from webapp.db import get_session
from webapp.errors import AppError
from webapp.services.ownership import get_owned


def is_htmx() -> bool:
    """The request comes from htmx (a fragment is wanted, not a page)."""
    return request.headers.get("HX-Request") == "true"


def request_user():
    """The user of this request: the API's bearer-token user, else the logged-in one."""
    api_user = g.get("api_user")
    return api_user if api_user is not None else current_user._get_current_object()


def owned(model, object_id: int, *, load: Iterable = ()):
    """The request user's ``model`` ``object_id`` (a 404 otherwise)."""
    return get_owned(get_session(), model, object_id, request_user(), load=load)


def apply_service_errors(
    form, exc: AppError, field_map: dict | None = None, *, message_to: str | None = None
) -> None:
    """Show a service error on a WTForms ``form``: each detail on the field it names (renamed
    through ``field_map``), anything else, or a detail-less error, as a form-level error.

    ``message_to`` shows the error's own message too, for errors whose details are terse
    hints (a file that cannot be read: the message says what was seen, a detail which option
    to change): on that field, or with ``"form"`` at the top of the form, in place of the
    details that would go to the same place."""
    field_map = field_map or {}
    if message_to not in (None, "form") and message_to not in form:
        message_to = "form"
    for detail in exc.details:
        name = field_map.get(detail.get("field"), detail.get("field"))
        name = (name or "").rsplit(".", 1)[-1]
        place = name if name and name in form else "form"
        if place == message_to:
            continue  # the message says it in full
        if place == "form":
            form.form_errors.append(detail["message"])
        else:
            form[place].errors = [*form[place].errors, detail["message"]]
    if message_to is None and not exc.details:
        form.form_errors.append(exc.message)
    elif message_to == "form":
        form.form_errors.insert(0, exc.message)
    elif message_to is not None:
        form[message_to].errors = [exc.message, *form[message_to].errors]


def field_messages(exc: AppError) -> dict[str, str]:
    """``{field: message}`` of a service error, for forms built by hand in a template; the
    overall message is under ``"form"``."""
    messages = {}
    for detail in exc.details:
        field = (detail.get("field") or "form").rsplit(".", 1)[-1]
        messages.setdefault(field, detail["message"])
    messages.setdefault("form", exc.message)
    return messages
