"""URLs built once per shape (webapp.flask_app): the same URLs as Flask builds."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from werkzeug.routing import BuildError

CALLS = [
    ("static", {"filename": "css/app.css"}),
    ("boards.show", {"board_id": 7}),
    ("boards.show", {"board_id": 8}),
    ("boards.show", {"board_id": 7, "status": "pending"}),
    ("boards.show", {"board_id": 7, "_anchor": "done"}),
    ("boards.index", {}),
    ("boards.show", {"board_id": 7, "flag": True}),
    ("boards.show", {"board_id": 7, "flag": 1}),
    ("boards.show", {"board_id": 7, "flag": 1.0}),
    ("boards.index", {"label": ["a", "b"]}),  # unhashable: built every time
]


def _flask_builds(app, endpoint, values):
    return Flask.url_for(app, endpoint, **values)


@pytest.mark.parametrize("base_url", ["http://localhost/", "http://example.org/mounted/"])
def test_urls_are_flasks_first_time_and_after(app, base_url):
    with app.test_request_context("/", base_url=base_url):
        for endpoint, values in CALLS * 2:
            assert url_for(endpoint, **values) == _flask_builds(app, endpoint, values)
        assert url_for("boards.show", board_id=7, flag=True).endswith("flag=True")
        assert url_for("boards.show", board_id=7, flag=1).endswith("flag=1")


def test_a_prefix_set_per_request_is_part_of_the_key(app):
    with app.test_request_context("/"):
        plain = url_for("boards.show", board_id=3)
    with app.test_request_context("/", base_url="http://localhost/mounted/"):
        mounted = url_for("boards.show", board_id=3)
    assert (plain, mounted) == ("/boards/3", "/mounted/boards/3")


def test_external_urls_follow_the_request_host(app):
    with app.test_request_context("/", base_url="http://one.example/"):
        assert url_for("boards.index", _external=True) == "http://one.example/boards"
    with app.test_request_context("/", base_url="http://two.example/"):
        assert url_for("boards.index", _external=True) == "http://two.example/boards"


def test_a_failed_build_raises_every_time(app):
    with app.test_request_context("/"):
        for _ in range(2):
            with pytest.raises(BuildError):
                url_for("boards.show")  # no board_id
