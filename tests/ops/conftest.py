"""Fault and scale-out tests: real gunicorn servers, RQ workers, and private PostgreSQL and
Redis servers that the tests stop, restart and kill (``make test-ops``; marked ``ops``).

They need Debian's PostgreSQL server binaries and ``redis-server``; the scale-out journey
needs Chromium too. The figures they measure (writes acknowledged and present, seconds to
recover, runs recovered) are printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.e2e.conftest import CHROMIUM_CANDIDATES, CHROMIUM_FLAGS
from tests.ops.services import PrivatePostgres, postgres_bin, remove_temp_dirs

FIGURES: dict[str, dict] = {}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ops: fault and scale-out tests with their own servers (make test-ops)"
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/ops/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.ops)
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("fault and scale-out figures")
    for test, figures in FIGURES.items():
        shown = ", ".join(f"{key}={value}" for key, value in figures.items())
        terminalreporter.write_line(f"{test}: {shown}")


@pytest.fixture
def figures(request) -> dict:
    """Numbers a test measured, printed in the summary."""
    return FIGURES.setdefault(request.node.name, {})


@pytest.fixture(scope="session")
def postgres():
    if postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")
    server = PrivatePostgres()
    yield server
    server.close()


@pytest.fixture(scope="session", autouse=True)
def _clean_temp_dirs():
    yield
    remove_temp_dirs()


@pytest.fixture(autouse=True)
def _needs_redis_server():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")


@pytest.fixture(scope="session")
def base_url():
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """The same Chromium as tests/e2e."""
    args = {**browser_type_launch_args, "args": CHROMIUM_FLAGS}
    executable = os.environ.get("CHROMIUM_PATH") or next(
        (path for path in CHROMIUM_CANDIDATES if shutil.which(path)), None
    )
    if executable:
        args["executable_path"] = executable
    return args
