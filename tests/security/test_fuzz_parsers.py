"""Bounded, derandomized fuzzing of what reads untrusted input: CSV ingest (parse, profile,
preview) and every JSON body the API accepts. Any input may be refused, with a 4xx; none may
raise anything else. Issue 11, "fuzzing in CI" (schemathesis covers the documented shapes in
test_schemathesis.py; these go outside them)."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.api.routing import OPERATIONS, openapi_path
from webapp.errors import AppError
from webapp.services import csv_parsing, profiling

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# -- CSV ingest ------------------------------------------------------------------------------

cell = st.one_of(
    st.text(alphabet=string.printable + "éß€\x00\ufeff\u2028", max_size=12),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "NA", "null", "1,5", "1.234,5", "2024-02-30", '"', '""', "=1+1", "\r"]),
)


@st.composite
def csv_files(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    width = draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=width + 1), max_size=25))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(delimiter.join(row) for row in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):  # damage it
        position = draw(st.integers(0, len(data)))
        data = data[:position] + draw(st.binary(max_size=8)) + data[position:]
    return data


overrides = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "encoding": st.one_of(
                st.sampled_from(["utf-8", "cp1252", "utf-16", "auto", "rot13", "", "utf-8\x00"]),
                st.text(max_size=10),
            ),
            "delimiter": st.one_of(
                st.sampled_from([",", ";", "\t", "|", "auto"]), st.text(max_size=3)
            ),
            "decimal": st.one_of(st.sampled_from([".", ",", "auto"]), st.text(max_size=2)),
            "header_row": st.one_of(st.integers(-5, 50), st.sampled_from(["auto", "x"])),
        },
    ),
)


@FUZZ
@given(content=st.one_of(csv_files(), st.binary(max_size=300)), options=overrides)
def test_csv_ingest_refuses_or_reads_any_bytes(content, options):
    try:
        table = csv_parsing.parse_csv(content, options, max_rows=1000, max_columns=50)
    except AppError as exc:
        assert 400 <= exc.status < 500 and exc.message
        return
    profiling.profile_frame(table.frame)
    profiling.preview(table.frame)


# -- every JSON body -------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
BODY_OPERATIONS = [op for op in OPERATIONS if op.body is not None]


def bodies(op):
    """Objects with the operation's own field names (so validation passes more often and the
    services see odd values), or any JSON at all."""
    fields = sorted(op.body.model_fields)
    shaped = st.fixed_dictionaries({}, optional=dict.fromkeys(fields, json_values))
    return st.one_of(shaped, json_values)


def concrete(rule: str) -> str:
    path, params = openapi_path(rule)
    for name, _ in params:
        path = path.replace("{" + name + "}", "1")
    return path


@pytest.fixture
def app_config():
    return {"LOGIN_RATE_LIMIT": "100000 per minute", "SIGNUP_RATE_LIMIT": "100000 per minute"}


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: f"{op.method} {op.rule}")
def test_json_bodies_never_cause_a_server_error(client, api, op):
    headers = api.headers("fuzzer")
    # Objects for the path ids to find (id 1 may be someone else's or missing: 404 is fine).
    client.post("/api/v1/boards", json={"name": "b"}, headers=headers)

    @settings(FUZZ, max_examples=40)
    @given(body=bodies(op))
    def check(body):
        request_headers = headers if op.auth else {}
        if op.rule.endswith("/users/me") and op.method in ("delete", "patch", "put"):
            request_headers = {}  # fuzzing must not delete or rename its own account
        response = client.open(
            concrete(op.rule), method=op.method.upper(), json=body, headers=request_headers
        )
        assert response.status_code < 500, (body, response.get_data(as_text=True)[:300])
        response.close()

    check()
