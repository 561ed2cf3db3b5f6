"""Fixtures of the security tests."""

from __future__ import annotations

import pytest

from tests.conftest import _empty_tables, make_test_app


@pytest.fixture
def make_app(database_url, tmp_path):
    """Make extra apps with their own settings; each is emptied and its engine disposed at
    the end (an engine left to the garbage collector leaves PostgreSQL connections open)."""
    apps = []

    def make(**overrides):
        app = make_test_app(database_url, tmp_path / f"instance-{len(apps)}", **overrides)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            _empty_tables(app)
