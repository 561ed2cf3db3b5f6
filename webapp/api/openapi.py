"""The OpenAPI 3.1 document, built from the operations that ``api_operation`` recorded.

It is written for generated clients (openapi-python-client is run against it in CI), so
what a client must send is declared, not only described: ``If-Match`` is a header parameter
of every operation that can answer 412 (the only precondition the API checks), the log-in
form and JSON bodies are distinct schemas, and no property has ``default: null`` unless it
accepts null.
"""

from __future__ import annotations

from pydantic import BaseModel, TypeAdapter

from webapp.api.routing import OPERATIONS, Operation, openapi_path
from webapp.db import MAX_ID
from webapp.errors import ERROR_CODES

REF = "#/components/schemas/{model}"
_COMMON_ERRORS = {
    400: "Malformed request (for example invalid JSON).",
    401: "Missing, malformed or expired bearer token.",
    403: "This token may not do that (a read-only personal API token, or one used where a "
    "log-in is needed).",
    404: "Not found (or owned by another user).",
    405: "Method not allowed.",
    412: "`If-Match` no longer matches: the object changed meanwhile.",
    413: "Request body too large, or over your storage quota.",
    415: "Unsupported content type.",
    422: "Validation failed; `details` name the fields (schema rules and business rules).",
    429: "Too many requests, or over a quota; the message says which limit.",
    500: "Unexpected server error.",
}
_ERROR_DETAILS = {
    409: [{"field": "email", "message": "This email is already taken.", "type": "already_exists"}],
    422: [
        {
            "field": "username",
            "location": "body",
            "message": "String should have at least 3 characters",
            "type": "string_too_short",
        }
    ],
}
_ERROR_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Bearer`.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of the version you changed; if the object changed since, the "
    "answer is 412 and nothing is written. Leave it out to write unconditionally.",
    "schema": {"type": "string"},
}
READ_METHODS = {"get", "head", "options"}
_PATH_TYPES = {
    "int": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "string": {"type": "string"},
    "path": {"type": "string"},
}


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


class _Schemas:
    """Component schemas and the schema of each annotation, from one pydantic pass.

    Names come from pydantic (``Page[TaskPublic]`` becomes ``Page_TaskPublic_``; a model whose
    input and output differ becomes ``X-Input``/``X-Output``), so ``$ref``s always resolve.
    """

    def __init__(self, operations: list[Operation]):
        inputs = [(ErrorResponse, "serialization")]
        for op in operations:
            if op.body is not None:
                inputs.append((op.body, "validation"))
            if op.query is not None:
                inputs.append((op.query, "validation"))
            if op.response is not None:
                inputs.append((op.response, "serialization"))
            inputs.extend((model, "validation") for model in op.extra_schemas)
        inputs = list(dict.fromkeys(inputs))
        self.by_key, top = TypeAdapter.json_schemas(
            [((annotation, mode), mode, TypeAdapter(annotation)) for annotation, mode in inputs],
            ref_template=REF,
        )
        self.components = top.get("$defs", {})
        for schema in self.components.values():
            _drop_null_defaults(schema)

    def ref(self, annotation, mode: str = "serialization") -> dict:
        return self.by_key[((annotation, mode), mode)]

    def query_schema(self, model: type[BaseModel]) -> dict:
        schema = self.ref(model, "validation")
        name = schema["$ref"].rsplit("/", 1)[-1]
        return self.components[name]


def _accepts_null(schema: dict) -> bool:
    if schema.get("type") == "null" or "null" in (schema.get("type") or []):
        return True
    return any(_accepts_null(option) for option in schema.get("anyOf", []))


def _drop_null_defaults(schema: dict) -> None:
    """``default: null`` on a property that does not accept null is a contradiction that
    validators reject (pydantic writes it for an optional field typed without ``None``)."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _accepts_null(prop):
            del prop["default"]


def _query_parameters(schema: dict) -> list[dict]:
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


def _error_response(code: int) -> dict:
    description = _COMMON_ERRORS.get(code, "Error.")
    example = {
        "error": {
            "code": ERROR_CODES.get(code, "error"),
            "message": description,
            "details": _ERROR_DETAILS.get(code, []),
        }
    }
    response = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": REF.format(model="ErrorResponse")},
                "example": example,
            }
        },
    }
    if code in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[code]
    return response


def _operation(op: Operation, path_params: list[tuple[str, str]], schemas: _Schemas) -> dict:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_TYPES.get(conv, {})}
        for name, conv in path_params
    ]
    if op.query is not None:
        parameters += _query_parameters(schemas.query_schema(op.query))
    if 412 in op.errors:
        parameters.append(IF_MATCH)
    parameters += op.headers
    responses: dict = {}
    if op.status == 204:
        responses["204"] = {"description": "Done; no content."}
    elif op.response is not None:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {"application/json": {"schema": schemas.ref(op.response)}},
        }
    responses.update(op.extra_responses)
    # 422 everywhere: any query string is checked (a NUL character is refused) and business
    # rules apply beyond the schema. Writes may meet a quota or rate limit (429).
    error_codes = {400, 404, 405, 422, 500} | set(op.errors)
    if op.auth:
        error_codes.add(401)
        if op.method not in READ_METHODS:
            error_codes.add(403)
    if op.method not in READ_METHODS:
        error_codes.add(429)
    if op.body is not None or op.request_content:
        error_codes |= {413, 415}
    for code in sorted(error_codes):
        responses.setdefault(str(code), _error_response(code))
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
            "content": {"application/json": {"schema": schemas.ref(op.body, "validation")}},
        }
    spec["security"] = [{"bearerAuth": []}] if op.auth else []
    return spec


_DESCRIPTION = """\
Tasks, data sets, training runs and models of a Playground account.

**Authentication.** Create an account at `POST /api/v1/auth/register`, log in at
`POST /api/v1/auth/login` (JSON; OAuth2 password-grant form fields go to
`POST /api/v1/auth/token`) and send the access token as `Authorization: Bearer <token>`
(the **Authorize** button here does that). When it expires, trade the refresh token at
`POST /api/v1/auth/refresh`; each refresh token works once, and presenting one again
revokes every token of that log-in. Log-out and a password change end all access tokens.
Scripts may use a personal API token instead (`POST /api/v1/tokens`): `read` tokens may
only GET (anything else is a 403). Failed log-ins are rate limited per client address and
per account, writes by quotas (429 with `Retry-After` and the limit in the message).

**Conventions.**
- Errors always have the shape `{"error": {"code", "message", "details"}}`; on 422 the
  `details` name each invalid field (`field`, `location`, `message`, `type`).
- Request bodies are JSON objects (`Content-Type: application/json`, else 415; invalid JSON,
  or JSON nested deeper than 32 levels, is a 400). JSON types are strict: `false` or `"3"`
  is not a number. Text may not contain the NUL character (422).
  Unknown fields are ignored, never stored and never an error; read-only fields such as
  `id` or `created_at` are therefore ignored in requests too.
- In PATCH (and PUT) bodies, an omitted or `null` field stays as it is.
- Lists take `limit` (default 50, at most 200) and `offset`, and answer
  `{"items", "total", "limit", "offset"}`.
- Every path answers with and without a trailing slash, without a redirect.
- Another user's objects answer 404, exactly like objects that do not exist.
"""


def build_openapi(version: str) -> dict:
    paths: dict = {}
    schemas = _Schemas(OPERATIONS)
    for op in OPERATIONS:
        path, params = openapi_path(op.rule)
        paths.setdefault(path, {})[op.method] = _operation(op, params, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Playground API",
            "version": version,
            "description": _DESCRIPTION,
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
