"""The OpenAPI 3.1 document, built from the operations that ``api_operation`` recorded."""

from __future__ import annotations

import typing

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from webapp.api.routing import OPERATIONS, Operation, openapi_path

REF = "#/components/schemas/{model}"
_COMMON_ERRORS = {
    400: "Malformed request (for example invalid JSON).",
    401: "Missing, malformed or expired bearer token.",
    404: "Not found (or owned by another user).",
    405: "Method not allowed.",
    413: "Request body too large.",
    415: "Unsupported content type.",
    422: "Validation failed; `details` name the fields.",
    429: "Too many requests; retry after the `Retry-After` seconds.",
    500: "Unexpected server error.",
}
_PATH_TYPES = {"int": {"type": "integer"}, "string": {"type": "string"}, "path": {"type": "string"}}


class ErrorDetail(BaseModel):
    field: str | None = None
    location: str | None = None
    message: str
    type: str | None = None


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    """Every error under /api/ has this shape."""

    error: ErrorInfo


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _schema_for(annotation) -> dict:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"$ref": REF.format(model=annotation.__name__)}
    return TypeAdapter(annotation).json_schema(ref_template=REF)


def _components(operations: list[Operation]) -> dict:
    pairs = [(ErrorResponse, "serialization")]
    for op in operations:
        if op.body is not None:
            pairs.append((op.body, "validation"))
        pairs.extend((m, "serialization") for m in _models_in(op.response))
    _, top = models_json_schema(list(dict.fromkeys(pairs)), ref_template=REF)
    return top.get("$defs", {})


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(op: Operation, path_params: list[tuple[str, str]]) -> dict:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_TYPES.get(conv, {})}
        for name, conv in path_params
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    responses: dict = {}
    if op.status == 204:
        responses["204"] = {"description": "Done; no content."}
    elif op.response is not None:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {"application/json": {"schema": _schema_for(op.response)}},
        }
    responses.update(op.extra_responses)
    error_codes = {400, 404, 405, 500} | set(op.errors)
    if op.auth:
        error_codes.add(401)
    if op.body is not None or op.request_content:
        error_codes |= {413, 415, 422}
    if op.query is not None or path_params:
        error_codes.add(422)
    for code in sorted(error_codes):
        responses.setdefault(
            str(code),
            {
                "description": _COMMON_ERRORS.get(code, "Error."),
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}
                },
            },
        )
    spec = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "tags": op.tags,
        "parameters": parameters,
        "responses": responses,
    }
    if op.description:
        spec["description"] = op.description
    if op.request_content is not None:
        spec["requestBody"] = {"required": True, "content": op.request_content}
    elif op.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_for(op.body)}},
        }
    spec["security"] = [{"bearerAuth": []}] if op.auth else []
    return spec


def build_openapi(version: str) -> dict:
    paths: dict = {}
    for op in OPERATIONS:
        path, params = openapi_path(op.rule)
        paths.setdefault(path, {})[op.method] = _operation(op, params)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Playground API",
            "version": version,
            "description": (
                "Tasks, data sets, training runs and models of a Playground account. "
                "Log in at `POST /api/v1/auth/login` and send the access token as "
                "`Authorization: Bearer <token>`. Errors always have the shape "
                '`{"error": {"code", "message", "details"}}`.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _components(OPERATIONS),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
