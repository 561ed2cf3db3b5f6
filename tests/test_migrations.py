"""The Alembic migrations make exactly the schema the models describe.

A model changed without a migration (or a migration that drifts from its model) shows up
here as an autogenerate diff. Runs on the test database the fixtures migrated: SQLite by
default, PostgreSQL when DATABASE_URL is set.
"""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from tests.conftest import alembic_config
from webapp.models import Base


def schema_diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url):
    assert schema_diff(database_url) == []


def test_migrations_have_a_single_head(database_url):
    script = ScriptDirectory.from_config(alembic_config(database_url))
    heads = script.get_heads()
    assert len(heads) == 1, f"Several Alembic heads {heads}: add a merge revision."


def test_the_test_database_is_at_head(database_url):
    script = ScriptDirectory.from_config(alembic_config(database_url))
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    assert set(current) == set(script.get_heads())


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    """Every migration can be undone (on a fresh SQLite file, not the shared test DB)."""
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    command.upgrade(config, "head")
    assert schema_diff(url) == []
