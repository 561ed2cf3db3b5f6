"""webapp.cache: the local LRU tier, the Redis tier shared between processes (on the real
Redis at 127.0.0.1:6379, our own database number), what happens when Redis is down, and the
pickle-free codec of parsed tables."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.ml_helpers import DATA
from webapp import cache
from webapp.db import get_session
from webapp.errors import AppError
from webapp.models import User
from webapp.services import csv_parsing
from webapp.services import datasets as dataset_service

REDIS_URL = "redis://127.0.0.1:6379/13"
FIXTURES = Path(__file__).parent / "fixtures" / "csv"


def _redis():
    from redis import Redis

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return connection


@pytest.fixture
def redis():
    connection = _redis()
    yield connection
    for key in connection.scan_iter(f"{cache.PREFIX}:*"):
        connection.delete(key)


@pytest.fixture
def shared_app(database_url, tmp_path):
    """A second app (another process, as far as the cache can tell) with Redis."""
    from tests.conftest import make_test_app

    cache._down_until.clear()
    app = make_test_app(database_url, tmp_path / "instance", REDIS_URL=REDIS_URL)
    yield app
    app.extensions["db_engine"].dispose()


def test_local_tier_is_a_bounded_lru_and_drops_by_object():
    box = cache.Cache("t", maxsize=2)
    box.put((1, "a"), "one")
    box.put((2, "a"), "two")
    assert box.get((1, "a")) == "one"  # 1 is now the most recently used
    box.put((3, "a"), "three")
    assert box.get((2, "a")) is None and box.get((1, "a")) == "one"
    box.put((1, "b"), "one-b")
    box.drop(1)
    assert box.get((1, "a")) is None and box.get((1, "b")) is None and len(box) == 0
    made = []
    assert box.get_or_make((4,), lambda: made.append(1) or "four") == "four"
    assert box.get_or_make((4,), lambda: made.append(1) or "four") == "four"
    assert made == [1]


def test_another_process_finds_the_value_in_redis_until_it_is_dropped(shared_app, redis):
    box = cache.Cache(f"t{uuid.uuid4().hex[:6]}", maxsize=4, shared=True)
    with shared_app.app_context():
        box.put((7, "x:y"), b"drawn once")
        box.clear()  # another process: its own tier is empty
        assert box.get((7, "x:y")) == b"drawn once"
        assert box.get((7, "x")) is None  # the separator is escaped: a different key
        box.clear()
        box.drop(7)
        assert box.get((7, "x:y")) is None
        assert not list(redis.scan_iter(f"{cache.PREFIX}:{box.name}:*"))


def test_without_redis_the_cache_is_local(app):
    box = cache.Cache("t", maxsize=4, shared=True)
    with app.app_context():
        box.put((1,), b"v")
        box.clear()
        assert box.get((1,)) is None


def test_redis_down_means_local_only_with_a_warning(database_url, tmp_path, caplog):
    from tests.conftest import make_test_app

    cache._down_until.clear()
    app = make_test_app(database_url, tmp_path / "i", REDIS_URL="redis://127.0.0.1:1/0")
    box = cache.Cache("t", maxsize=4, shared=True)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="webapp.cache"):
        box.put((1,), b"v")
        assert box.get((1,)) == b"v"
        box.clear()
        assert box.get((1,)) is None
    assert "Redis did not answer" in caplog.text
    assert len([r for r in caplog.records if r.name == "webapp.cache"]) == 1  # then it waits
    cache._down_until.clear()
    app.extensions["db_engine"].dispose()


def _parsed(paths):
    for path in paths:
        try:
            yield path.name, csv_parsing.parse_csv(path.read_bytes(), None).frame
        except AppError:
            continue  # a file the parser refuses: no table to cache


TABLES = dict(_parsed(sorted(FIXTURES.glob("*.csv")) + sorted(DATA.glob("*.csv"))))


@pytest.mark.parametrize("name", sorted(TABLES))
def test_parsed_tables_survive_the_trip_through_bytes(name):
    frame = TABLES[name]
    back = cache.frame_from_bytes(cache.frame_to_bytes(frame))
    pd.testing.assert_frame_equal(frame, back, check_exact=True)


def test_a_worker_gets_the_table_the_web_server_parsed_and_a_delete_frees_it(
    shared_app, redis, auth, monkeypatch
):
    auth.create("alice")
    with shared_app.app_context():
        session = get_session()
        user = session.query(User).filter_by(username="alice").one()
        dataset = dataset_service.create_dataset(
            session=session, user=user, filename="sample_data.csv",
            content=(DATA / "sample_data.csv").read_bytes(),
        )  # fmt: skip
        expected = dataset_service.load_dataframe(session=session, dataset=dataset)
        dataset_service.clear_cache()  # the worker's process

        def no_parsing(*args, **kwargs):
            raise AssertionError("the table was parsed again")

        monkeypatch.setattr(csv_parsing, "parse_csv", no_parsing)
        got = dataset_service.load_dataframe(session=session, dataset=dataset)
        pd.testing.assert_frame_equal(expected, got)
        assert list(redis.scan_iter(f"{cache.PREFIX}:frames:{dataset.id}:*"))
        dataset_service.delete_dataset(session=session, dataset=dataset)
        assert not list(redis.scan_iter(f"{cache.PREFIX}:frames:{dataset.id}:*"))
