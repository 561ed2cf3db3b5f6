"""Declaring API operations: one decorator validates input with pydantic and records the
operation, so the OpenAPI document is generated from the very schemas that validate requests.

    @api_operation(bp, "/tasks", "POST", body=TaskCreate, response=TaskPublic, status=201,
                   summary="Create a task", tags=["tasks"])
    def create_task(body: TaskCreate): ...

The view receives ``body=`` and ``query=`` as validated models and path parameters as usual.
It returns a pydantic model, a list/dict, or a ``flask.Response``; a model/dict is answered
as JSON with ``status``. Every rule answers with and without a trailing slash, no redirect.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError

from webapp.db import reads_only
from webapp.errors import BadRequest, UnsupportedMediaType, ValidationFailed
from webapp.hardening import NUL_MESSAGE


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tags: list[str]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: object
    status: int
    auth: bool
    errors: list[int]
    extra_responses: dict = field(default_factory=dict)
    request_content: dict | None = None  # raw OpenAPI requestBody content (e.g. multipart)
    extra_schemas: tuple = ()  # models that request_content refers to by $ref
    headers: list[dict] = field(default_factory=list)  # OpenAPI header parameters


OPERATIONS: list[Operation] = []


def validation_details(exc: ValidationError | list[dict], location: str) -> list[dict]:
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc
    details = []
    for err in errors:
        path = ".".join(str(part) for part in err["loc"])
        details.append(
            {
                "field": path or location,
                "location": location,
                "message": err["msg"],
                "type": err["type"],
            }
        )
    return details


def _validate(model: type[BaseModel], data, location: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            f"The {location} is not valid.", details=validation_details(exc, location)
        ) from None


def nul_fields(data, location: str = "body") -> list[dict]:
    """A 422 detail for each string (or object key) in ``data`` holding a NUL character:
    PostgreSQL cannot store one in text, and no field of ours needs it."""
    details = []
    stack = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if "\0" in node:
                details.append(
                    {
                        "field": path or location,
                        "location": location,
                        "message": NUL_MESSAGE,
                        "type": "string_nul",
                    }
                )
        elif isinstance(node, dict):
            for key, value in node.items():
                name = key.replace("\0", "\\u0000")
                if "\0" in key:
                    stack.append((key, f"{path}.{name}" if path else name))
                stack.append((value, f"{path}.{name}" if path else name))
        elif isinstance(node, list):
            stack.extend((item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(node))
    return details


# What strict validation says when a JSON value has the wrong JSON type for its field.
JSON_TYPE_ERRORS = frozenset(
    {"int_type", "float_type", "bool_type", "string_type", "list_type", "dict_type", "model_type"}
)


def parse_json_body(model: type[BaseModel]) -> BaseModel:
    """Validate the request's JSON body in pydantic's strict JSON mode.

    Strict about JSON's own types: ``false`` is not a position, ``"3"`` not a count and
    ``1`` not a flag (lax mode would convert each); dates and enums still come as strings.
    The body is parsed once by the app's bounded JSON parser (depth, see webapp.hardening)
    for the checks below, then validated from the same bytes.
    """
    if not request.is_json:
        raise UnsupportedMediaType(
            "Send the request body as JSON with 'Content-Type: application/json'."
        )
    raw = request.get_data(cache=True)
    try:
        data = current_app.json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The request body must be a JSON object.",
            details=[
                {
                    "field": "body",
                    "location": "body",
                    "message": "Expected an object.",
                    "type": "object_type",
                }
            ],
        )
    # JSON writes a NUL only as the escape \u0000 (strict parsing refuses a raw one), and
    # UTF-16 or UTF-32 text holds zero bytes: without either, no value can hold a NUL and
    # the walk over every value (most of a 10,000-row request's checks) is skipped.
    if (b"\\u0000" in raw or b"\x00" in raw) and (problems := nul_fields(data)):
        raise ValidationFailed(NUL_MESSAGE, details=problems)
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        wrong_types = [e for e in exc.errors(include_url=False) if e["type"] in JSON_TYPE_ERRORS]
    # Strict mode also refuses what a field's own before-validator turns into its type
    # (a "YYYY-MM-DD" string into a date): lax validation decides, and only a JSON type
    # mismatch is added to what it finds.
    try:
        parsed, errors = model.model_validate(data), []
    except ValidationError as exc:
        parsed, errors = None, exc.errors(include_url=False)
    seen = {tuple(e["loc"]) for e in errors}
    errors += [e for e in wrong_types if tuple(e["loc"]) not in seen]
    if errors:
        raise ValidationFailed("The body is not valid.", details=validation_details(errors, "body"))
    return parsed


def parse_query(model: type[BaseModel]) -> BaseModel:
    data = {}
    for key in request.args:
        values = request.args.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    return _validate(model, data, "query")


def to_json_response(result, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    elif isinstance(result, list):
        result = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in result]
    if status == 204:
        return Response(status=204)
    response = jsonify(result)
    response.status_code = status
    return response


def api_operation(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    tags: list[str],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response=None,
    status: int = 200,
    auth: bool = True,
    errors: tuple[int, ...] = (),
    description: str = "",
    extra_responses: dict | None = None,
    request_content: dict | None = None,
    extra_schemas: tuple = (),
    body_parser=None,
    writes: bool | None = None,
):
    """Register a view on ``bp`` for ``rule`` and record it for the OpenAPI document.

    ``body_parser`` replaces the JSON body parsing (e.g. to accept form fields too).
    ``errors`` lists the error statuses the operation may answer besides the common ones.
    ``writes``: whether the operation changes data; a GET does not unless it says so, and
    then runs without a transaction (:func:`webapp.db.reads_only`).
    """
    from webapp.api import idempotency
    from webapp.api.deps import authenticate_request

    # Authenticated POSTs take an Idempotency-Key (409 while the first is running, 422 if
    # reused for another request).
    idempotent = auth and method.upper() == "POST"

    def decorator(view):
        endpoint = view.__name__

        @functools.wraps(view)
        def wrapper(**path_args):
            if auth:
                g.api_user = authenticate_request()
            kwargs = dict(path_args)
            if body is not None:
                kwargs["body"] = (body_parser or parse_json_body)(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            return idempotency.once(lambda: to_json_response(view(**kwargs), status))

        if not (writes if writes is not None else method.upper() != "GET"):
            reads_only(wrapper)
        trimmed = rule.rstrip("/") or "/"
        bp.add_url_rule(trimmed, endpoint, wrapper, methods=[method], strict_slashes=False)
        if trimmed != "/":
            bp.add_url_rule(
                trimmed + "/", endpoint, wrapper, methods=[method], strict_slashes=False
            )
        OPERATIONS.append(
            Operation(
                rule=(bp.url_prefix or "") + trimmed,
                method=method.lower(),
                endpoint=f"{bp.name}.{endpoint}",
                summary=summary,
                description=description or (view.__doc__ or "").strip(),
                tags=tags,
                body=body,
                query=query,
                response=response,
                status=status,
                auth=auth,
                errors=list(errors) + ([409, 422] if idempotent else []),
                extra_responses=extra_responses or {},
                request_content=request_content,
                extra_schemas=tuple(extra_schemas),
                headers=[idempotency.OPENAPI_PARAMETER] if idempotent else [],
            )
        )
        return wrapper

    return decorator


_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> tuple[str, list[tuple[str, str]]]:
    """Turn ``/tasks/<int:task_id>`` into ``/tasks/{task_id}`` and its parameter types."""
    params = [(name, conv or "string") for conv, name in _CONVERTER.findall(rule)]
    return _CONVERTER.sub(r"{\2}", rule), params
