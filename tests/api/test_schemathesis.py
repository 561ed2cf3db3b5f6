"""Property-based tests of every API operation against the app's own OpenAPI document.

Schemathesis reads /api/v1/openapi.json from the app (through WSGI, no server), generates
requests for every operation, valid and invalid ones, and checks each answer: no 5xx, a
documented status code, a body matching the documented schema, documented content types
and headers, invalid input rejected, authentication enforced. New features' endpoints are
fuzzed automatically, as they appear in the document.

Authenticated operations get a valid bearer token of a throw-away account, made again when
a case such as ``DELETE /users/me`` removed it. Bounded and derandomized: quick, and the same
cases on every run.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.conftest import make_test_app
from tests.utils.auth import create_user
from webapp.api.routing import OPERATIONS, openapi_path
from webapp.db import get_session
from webapp.models import User
from webapp.security import ACCESS, create_token

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            # Unknown query parameters and body fields are ignored by design (documented).
            "allow-extra-parameters": False,
        },
        "checks": {
            # Schema-valid input may still break a rule no schema can state: a wrong
            # `current_password`, an email address the deliverability-free validator refuses,
            # a reference to an object that is not yours. Those are 422s with field details.
            # A generated If-Match rarely matches (412), and a quota may be reached (429).
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422", "429"]
            },
        },
    }
)

# The operations must be known when pytest collects tests, before any fixture exists: load
# the document through WSGI from an app made for that alone (it never touches its database;
# schemathesis.pytest.from_fixture would avoid this but breaks on pytest 9). The requests go
# to each test's own ``app`` fixture.
_SPEC_APP = make_test_app("sqlite://", Path(tempfile.gettempdir()) / "playground-openapi-instance")
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _SPEC_APP, config=CONFIG)


class FuzzAccount:
    """The account whose token authenticated operations use; re-created when deleted."""

    def __init__(self, app):
        self.app = app
        self.user_id = self._create()

    def _create(self) -> int:
        return create_user(self.app, "fuzzer", email="fuzzer@example.com")

    def token(self) -> str:
        """A fresh access token: the last case may have changed the password (a new stamp)
        or deleted the account (the examples carry its real password)."""
        with self.app.app_context():
            user = get_session().get(User, self.user_id)
            if user is None:
                self.user_id = self._create()
                user = get_session().get(User, self.user_id)
            stamp = user.security_stamp
        token, _, _ = create_token(
            user_id=self.user_id,
            token_type=ACCESS,
            secret=self.app.config["JWT_SECRET_KEY"],
            lifetime=timedelta(minutes=10),
            stamp=stamp,
        )
        return token


# Schemathesis applies auth when it builds a case (explicit examples are built while pytest
# collects, before any account exists) and leaves it off the negative cases that test a
# missing or broken Authorization header. So the provider writes a placeholder, which each
# test swaps for a real token just before the call.
PLACEHOLDER = "Bearer fuzz-account-token"


@schema.auth(refresh_interval=None, retry_on=[])
class BearerAuth:
    def get(self, case, context):
        return PLACEHOLDER

    def set(self, case, data, context):
        if case.operation.definition.raw.get("security"):
            case.headers = {**(case.headers or {}), "Authorization": data}


@pytest.fixture
def app_config():
    # Fuzzed log-ins fail a lot; the limit itself is tested in test_auth_api.py.
    return {"LOGIN_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def fuzz_account(app) -> FuzzAccount:
    return FuzzAccount(app)


def test_the_fuzzed_document_is_the_one_the_app_serves(client):
    assert client.get("/api/v1/openapi.json").get_json() == schema.raw_schema


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case, app, fuzz_account):
    if case.headers and case.headers.get("Authorization") == PLACEHOLDER:
        case.headers["Authorization"] = f"Bearer {fuzz_account.token()}"
    case.call_and_validate(app=app)


def test_every_registered_operation_is_fuzzed():
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzzed = {(op.method.lower(), op.path) for op in operations}
    registered = {(op.method, openapi_path(op.rule)[0]) for op in OPERATIONS}
    assert fuzzed == registered
