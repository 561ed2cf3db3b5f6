"""ids never reused on SQLite; refresh-token families; personal API tokens

SQLite hands the largest id out again once its row is deleted, unless the table is declared
AUTOINCREMENT; ids end up in tokens, URLs and file names, so a deleted account's id must
never name a new account. SQLite cannot add AUTOINCREMENT to a table, so each table with an
integer id is rebuilt (batch mode copies the rows, ids included; the new sqlite_sequence
starts after the largest id still present). PostgreSQL's sequences never go back: there the
rebuild is skipped.

Refresh tokens get a ``family`` (one per log-in, kept through rotation) so a reused token
revokes every token of its log-in. Existing tokens each start a family of their own.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 16:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables whose integer ``id`` is their whole primary key.
ID_TABLES = ("users", "refresh_tokens", "boards", "tasks", "datasets", "runs", "model_versions")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _foreign_keys_off() -> None:
    """Rebuilding a table drops the old one; with foreign keys on, SQLite would first delete
    its rows and cascade into every child table. Alembic's own connection has them off; a
    connection that turned them on must turn them off before the migration starts."""
    bind = op.get_bind()
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "Migration 0005 rebuilds tables and needs SQLite foreign keys off "
            "(PRAGMA foreign_keys=OFF before the migration's transaction)."
        )


def _rebuild(autoincrement: bool) -> None:
    _foreign_keys_off()
    for table in ID_TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family", sa.String(length=32), nullable=True))
    op.execute("UPDATE refresh_tokens SET family = substr(jti, 1, 32)")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.alter_column("family", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(batch_op.f("ix_refresh_tokens_family"), ["family"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_token_hash"), ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    if _sqlite():
        _rebuild(autoincrement=True)


def downgrade() -> None:
    if _sqlite():
        _rebuild(autoincrement=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_tokens_token_hash"))
    op.drop_table("api_tokens")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_family"))
        batch_op.drop_column("family")
