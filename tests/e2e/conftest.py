"""End-to-end fixtures: the real app served over HTTP on a free port, driven by a real
Chromium through Playwright (pytest-playwright's ``page``).

The server is Werkzeug's threaded development server with one fix (``ClosingRequestHandler``):
it closes the app's response when the browser resets the connection. A browser resets
connections all the time (a click that navigates cancels the favicon or stylesheet request
still in flight); Werkzeug 3.1 then skips closing the response, and the static file left open
raises a ResourceWarning when it is collected, failing whichever test runs at that moment.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest
from playwright.sync_api import expect
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.conftest import make_test_app
from webapp.db import get_engine

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


RESPONSE_KEY = "tests.e2e.response"


class _CloseOnce:
    """The app's response body, closed at most once (by Werkzeug or by the handler below)."""

    def __init__(self, body):
        self.body = body
        self.closed = False

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if hasattr(self.body, "close"):
                self.body.close()


def _keep_response(app):
    """Wrap ``app`` so that the request's environ holds the response it returned."""

    def wsgi(environ, start_response):
        environ[RESPONSE_KEY] = body = _CloseOnce(app(environ, start_response))
        return body

    return wsgi


class ClosingRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, closing the response when the client dropped the connection.

    After the body, Werkzeug reads what is left of the request before it closes the response;
    when the client has reset the connection that read raises ConnectionResetError, the close
    is skipped, and ``connection_dropped`` is the one place that still sees the request.
    """

    # One request per connection: once the server is shut down, a page still open (an htmx
    # poll) cannot reach the app through a kept-alive connection after the test's engine
    # was disposed (its connection would be dropped unclosed: a ResourceWarning later).
    protocol_version = "HTTP/1.0"

    def connection_dropped(self, error, environ=None) -> None:
        response = (environ or {}).get(RESPONSE_KEY)
        if response is not None:
            response.close()


def serve(app) -> tuple[BaseWSGIServer, threading.Thread, str]:
    """Serve ``app`` on 127.0.0.1:<free port> in a thread; returns the server, the thread
    and the base URL."""
    server = make_server(
        "127.0.0.1", 0, _keep_response(app), threaded=True, request_handler=ClosingRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live_app(database_url, tmp_path, app_config):
    """The app as served to the browser: CSRF on, as in production."""
    return make_test_app(database_url, tmp_path / "instance", WTF_CSRF_ENABLED=True, **app_config)


@pytest.fixture
def live_server(live_app):
    """Serve ``live_app`` on 127.0.0.1:<free port>; yields the base URL."""
    from tests.conftest import _empty_tables

    server, thread, base_url = serve(live_app)
    yield base_url
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with live_app.app_context():
        _wait_for_requests_to_end(get_engine().pool)
        _empty_tables(live_app)


def _wait_for_requests_to_end(pool, timeout: float = 10) -> None:
    """Requests still being answered hold database connections; dispose after they end."""
    deadline = time.monotonic() + timeout
    while pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.01)


# Assertions wait as long as actions (``page`` below): on one busy CPU a page can take more
# than ``expect``'s own default of 5 s to show what a person waits for, and a slow page is
# not a broken one. Set once, for the whole session.
expect.set_options(timeout=10_000)


@pytest.fixture
def page(page):
    """Playwright's page with a short default timeout, so a broken page fails fast."""
    page.set_default_timeout(10_000)
    return page
