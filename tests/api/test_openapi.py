"""The OpenAPI document (/api/v1/openapi.json) and the docs page (/api/docs)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Generic, TypeVar

import pytest
import schemathesis
from pydantic import BaseModel

from webapp import ROOT
from webapp.api import openapi
from webapp.api.routing import OPERATIONS, Operation, openapi_path
from webapp.api.schemas import Page, PageQuery, UserPublic

SPEC_URL = "/api/v1/openapi.json"


@pytest.fixture
def spec(client) -> dict:
    response = client.get(SPEC_URL)
    assert response.status_code == 200
    return response.get_json()


def operations(spec: dict):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(spec).validate()  # against the OpenAPI 3.1 meta-schema


def test_trailing_slash_serves_the_same_document(client, spec):
    assert client.get(SPEC_URL + "/").get_json() == spec


def test_every_ref_resolves(spec):
    schemas = spec["components"]["schemas"]
    for ref in set(refs(spec)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


def test_every_registered_operation_is_documented_and_vice_versa(app, spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    registered = {(openapi_path(op.rule)[0], op.method) for op in OPERATIONS}
    assert documented == registered
    # ... and every /api/v1 URL rule of the app (bar the document itself) is such an operation.
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        path = openapi_path(rule.rule.rstrip("/"))[0]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (rule.rule, method)


def test_operation_ids_are_unique(spec):
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))


def test_security_matches_authentication(spec):
    public = {
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/token",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
    }
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, method, operation in operations(spec):
        if path in public:
            assert operation["security"] == [], (path, method)
        else:
            assert operation["security"] == [{"bearerAuth": []}], (path, method)
            assert "401" in operation["responses"], (path, method)
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_every_operation_documents_its_errors_with_the_error_schema(spec):
    error_ref = "#/components/schemas/ErrorResponse"
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        assert {"400", "404", "405", "500"} <= set(responses), (path, method)
        if "requestBody" in operation:
            assert {"413", "415", "422"} <= set(responses), (path, method)
        for status, response in responses.items():
            if int(status) >= 400:
                content = response["content"]["application/json"]
                assert content["schema"] == {"$ref": error_ref}, (path, method, status)
                assert set(content["example"]["error"]) == {"code", "message", "details"}
        assert any(200 <= int(status) < 300 for status in responses), (path, method)


def test_account_operations(spec):
    paths = spec["paths"]
    register = paths["/api/v1/auth/register"]["post"]
    assert "201" in register["responses"] and "409" in register["responses"]
    login = paths["/api/v1/auth/login"]["post"]
    # One content type per path: generated clients break on a body of two types.
    assert set(login["requestBody"]["content"]) == {"application/json"}
    token = paths["/api/v1/auth/token"]["post"]
    assert set(token["requestBody"]["content"]) == {"application/x-www-form-urlencoded"}
    assert {"401", "429"} <= set(login["responses"])
    assert "Retry-After" in login["responses"]["429"]["headers"]
    assert set(paths["/api/v1/users/me"]) == {"get", "patch", "put", "delete"}
    assert "204" in paths["/api/v1/users/me"]["delete"]["responses"]
    assert "204" in paths["/api/v1/auth/logout"]["post"]["responses"]


def test_schemas_describe_the_rules(spec):
    schemas = spec["components"]["schemas"]
    user_create = schemas["UserCreate"]["properties"]
    assert user_create["password"]["minLength"] == 8
    assert user_create["password"]["maxLength"] == 72
    assert "bytes" in user_create["password"]["description"]
    assert user_create["email"]["format"] == "email"
    assert user_create["username"]["pattern"]
    assert set(schemas["UserPublic"]["required"]) == {
        "id",
        "email",
        "username",
        "is_active",
        "created_at",
    }
    assert "password_hash" not in str(schemas["UserPublic"])
    for name in ("UserCreate", "UserUpdate", "UserPublic", "LoginRequest", "TokenPair"):
        assert schemas[name].get("examples"), name


def test_generic_pages_and_query_models_are_documented(monkeypatch):
    """``Page[T]`` responses get pydantic's component names, so the $ref must follow them."""
    T = TypeVar("T")

    class Wrapper(BaseModel, Generic[T]):
        value: T

    def op(rule, endpoint, response):
        return Operation(
            rule=rule,
            method="get",
            endpoint=endpoint,
            summary="List",
            description="",
            tags=["test"],
            body=None,
            query=PageQuery,
            response=response,
            status=200,
            auth=True,
            errors=[],
        )

    fake = [
        op("/api/v1/things", "api.things", Page[UserPublic]),
        op("/api/v1/others", "api.others", list[Wrapper[int]]),
    ]
    monkeypatch.setattr(openapi, "OPERATIONS", fake)
    spec = openapi.build_openapi("test")
    schemathesis.openapi.from_dict(spec).validate()
    test_every_ref_resolves(spec)
    things = spec["paths"]["/api/v1/things"]["get"]
    assert [p["name"] for p in things["parameters"]] == ["limit", "offset"]
    limit = things["parameters"][0]["schema"]
    assert (limit["default"], limit["minimum"], limit["maximum"]) == (50, 1, 200)
    page_ref = things["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = spec["components"]["schemas"][page_ref.rsplit("/", 1)[1]]
    assert set(page["required"]) == {"items", "total", "limit", "offset"}


def test_page_of_reads_orm_like_objects():
    class Row:
        id, email, username, is_active = 1, "a@example.com", "alice", True
        created_at = "2026-01-01T00:00:00Z"

    page = Page[UserPublic].of([Row()], total=5, query=PageQuery(limit=1, offset=2))
    assert page.model_dump(mode="json")["items"][0]["username"] == "alice"
    assert (page.total, page.limit, page.offset) == (5, 1, 2)


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ({}, True),
        ({"limit": "200"}, True),
        ({"limit": "201"}, False),
        ({"limit": "0"}, False),
        ({"offset": "-1"}, False),
    ],
)
def test_page_query_limits(query, ok):
    from pydantic import ValidationError

    if ok:
        PageQuery.model_validate(query)
    else:
        with pytest.raises(ValidationError):
            PageQuery.model_validate(query)


def test_description_documents_the_conventions(spec):
    text = spec["info"]["description"]
    for phrase in (
        "Unknown fields are ignored",
        "trailing slash",
        "Bearer",
        "Retry-After",
        "limit",
    ):
        assert phrase in text, phrase


# -- /api/docs -----------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "action", "data-spec-url"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        self._in_script = tag == "script" and "src" not in attrs

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data)

    def handle_endtag(self, tag):
        self._in_script = False


@pytest.fixture
def docs_page(client) -> str:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_docs_page_uses_only_local_urls(client, docs_page):
    parser = _Links()
    parser.feed(docs_page)
    assert parser.urls
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as response:  # static files are streamed: close them
            assert response.status_code == 200, url
    assert not re.search(r"https?://", docs_page)


def test_docs_page_loads_the_vendored_swagger_ui(client, docs_page):
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs_page
    assert "/static/vendor/swagger-ui/swagger-ui.css" in docs_page
    assert f'data-spec-url="{SPEC_URL}"' in docs_page
    with client.get("/static/vendor/swagger-ui/playground-docs.js") as response:
        init = response.get_data(as_text=True)
    assert "persistAuthorization: true" in init
    assert "validatorUrl: null" in init  # the online validator would leave the site


def test_vendored_swagger_ui_is_complete():
    folder = ROOT / "static" / "vendor" / "swagger-ui"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "README.md"):
        assert (folder / name).is_file(), name
    assert re.search(r"5\.\d+\.\d+", (folder / "README.md").read_text())


def test_every_operation_documents_422_and_writes_429(spec):
    """Business rules (and the NUL check on any query string) answer 422 on any operation;
    quotas and rate limits answer 429 on writes. Undocumented, schemathesis reports them."""
    for path, method, operation in operations(spec):
        assert "422" in operation["responses"], (path, method)
        if method not in ("get", "head"):
            assert "429" in operation["responses"], (path, method)
