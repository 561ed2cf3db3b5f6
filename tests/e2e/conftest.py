"""End-to-end fixtures: the real app served over HTTP on a free port, driven by a real
Chromium through Playwright (pytest-playwright's ``page``)."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_test_app

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def base_url():
    """Replaces pytest-playwright's fallback ``base_url`` fixture, which pytest 9 deprecates
    (an error here: warnings are errors). Tests use ``live_server`` URLs."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium when present (Playwright cannot download browsers here); otherwise
    the browser Playwright installed for the user."""
    args = {**browser_type_launch_args, "args": CHROMIUM_FLAGS}
    executable = os.environ.get("CHROMIUM_PATH") or next(
        (path for path in CHROMIUM_CANDIDATES if shutil.which(path)), None
    )
    if executable:
        args["executable_path"] = executable
    return args


@pytest.fixture
def live_app(database_url, tmp_path, app_config):
    """The app as served to the browser: CSRF on, as in production."""
    return make_test_app(database_url, tmp_path / "instance", WTF_CSRF_ENABLED=True, **app_config)


@pytest.fixture
def live_server(live_app):
    """Serve ``live_app`` on 127.0.0.1:<free port>; yields the base URL."""
    from tests.conftest import _empty_tables

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    with live_app.app_context():
        _empty_tables(live_app)


@pytest.fixture
def page(page):
    """Playwright's page with a short default timeout, so a broken page fails fast."""
    page.set_default_timeout(10_000)
    return page
