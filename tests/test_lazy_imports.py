"""The ML stack stays out of a web worker until a request needs it (:mod:`webapp.lazy`).

Checked in a fresh interpreter: in this one, other tests have long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from webapp import ROOT
from webapp.lazy import lazy_import

HEAVY = ["numpy", "pandas", "matplotlib", "mlcore"]

WORKER = textwrap.dedent(
    """
    import json, sys

    import webapp

    HEAVY = {heavy!r}

    def loaded():
        return sorted({{name.split(".")[0] for name in sys.modules}} & set(HEAVY))

    seen = {{}}
    app = webapp.create_app({{
        "TESTING": True, "APP_ENV": "testing", "DATABASE_URL": {url!r},
        "SECRET_KEY": "lazy-imports-test-secret-0123456789abcdef",
        "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://", "REDIS_URL": None,
        "INSTANCE_PATH": {instance!r}, "RUN_SWEEP_SECONDS": 0,
    }})
    seen["create_app"] = loaded()

    client = app.test_client()
    status = {{}}
    def call(method, url, **kwargs):
        response = client.open(url, method=method, **kwargs)
        status[f"{{method}} {{url}}"] = response.status_code
        return response.get_json(silent=True)

    account = {{"email": "lazy@example.com", "username": "lazy", "password": "correct-horse-1"}}
    call("POST", "/api/v1/auth/register", json=account)
    token = call("POST", "/api/v1/auth/login", json={{"username": "lazy",
                                                      "password": account["password"]}})
    bearer = {{"Authorization": "Bearer " + token["access_token"]}}
    board = call("POST", "/api/v1/boards", json={{"name": "Home"}}, headers=bearer)
    call("POST", "/api/v1/tasks", json={{"title": "Milk", "board_id": board["id"]}},
         headers=bearer)
    call("GET", "/api/v1/tasks?limit=20", headers=bearer)
    call("POST", "/auth/login", data={{"login": "lazy", "password": account["password"]}})
    for url in ["/", "/boards", f"/boards/{{board['id']}}", "/datasets/", "/runs", "/models",
                "/auth/account", "/health"]:
        call("GET", url)
    seen["pages"] = loaded()

    csv = b"a,b,label\\n" + b"".join(b"%d,%d,%s\\n" % (i, i * 3 % 7, b"xy"[i % 2:i % 2 + 1])
                                     for i in range(30))
    call("POST", "/api/v1/datasets", headers=bearer,
         data={{"file": (__import__("io").BytesIO(csv), "small.csv")}})
    seen["upload"] = loaded()
    print(json.dumps({{"seen": seen, "status": status}}))
    """
)


def test_create_app_and_light_pages_import_no_ml_stack(app, database_url, tmp_path):
    # ``app`` empties the tables the worker writes when the test ends.
    script = WORKER.format(heavy=HEAVY, url=database_url, instance=str(tmp_path / "worker"))
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    status, seen = report["status"], report["seen"]

    bad = {
        call: code
        for call, code in status.items()
        if code >= 400 or (call.startswith("GET") and code != 200)
    }
    assert not bad, bad
    assert seen["create_app"] == [], "create_app imported the ML stack"
    assert seen["pages"] == [], "boards, tasks, account or list pages imported the ML stack"
    # The first request that handles a table loads what it needs, and works.
    assert {"numpy", "pandas", "mlcore"} <= set(seen["upload"])
    assert "matplotlib" not in seen["upload"]


def test_lazy_module_imports_on_first_attribute():
    script = textwrap.dedent(
        """
        import sys
        from webapp.lazy import lazy_import
        colorsys = lazy_import("colorsys")
        assert "colorsys" not in sys.modules
        assert "not imported yet" in repr(colorsys)
        assert colorsys.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
        assert "colorsys" in sys.modules and "(imported)" in repr(colorsys)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_lazy_module_passes_on_a_missing_attribute_as_attribute_error():
    json_module = lazy_import("json")
    assert json_module.dumps([1]) == "[1]"
    assert "dumps" in dir(json_module)
    try:
        json_module.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("a missing attribute must raise AttributeError")


def test_a_lazy_import_stays_frozen_where_the_process_froze_at_start():
    """gunicorn's workers gc.freeze() after start-up; the ML stack imported later must not
    bring its objects back into every full collection."""
    code = """
import gc, json
from webapp.lazy import lazy_import
gc.freeze()
frozen = gc.get_freeze_count()
lazy_import("fractions").Fraction(1, 3)
gc.collect()
print(json.dumps({"before": frozen, "after": gc.get_freeze_count()}))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    counts = json.loads(result.stdout)
    assert counts["after"] > counts["before"]  # the newly imported module's objects froze
