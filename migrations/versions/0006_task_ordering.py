"""task ordering: gapped ranks instead of dense positions

A column of a board was ordered by ``position``, dense 0..n-1, so every create, move and
delete renumbered the column (cost growing with its size). ``rank`` is a 64-bit key with
gaps of 2**32 (see services/tasks.py): a write changes only its own row. Positions as the
API shows them are computed when read. Existing tasks keep their order: rank = (position +
1) * 2**32.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 16:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GAP = 2**32
# SQLite rebuilds the table for these changes: keep the AUTOINCREMENT of revision 0005.
KEEP_IDS = {"table_kwargs": {"sqlite_autoincrement": True}}


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None, **KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("rank", sa.BigInteger(), nullable=True))
    op.execute(sa.text("UPDATE tasks SET rank = (position + 1) * :gap").bindparams(gap=GAP))
    with op.batch_alter_table("tasks", schema=None, **KEEP_IDS) as batch_op:
        batch_op.alter_column("rank", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index("ix_tasks_board_id_status_position")
        batch_op.drop_column("position")
        batch_op.create_index(
            "ix_tasks_board_id_status_rank", ["board_id", "status", "rank", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None, **KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE tasks SET position = (SELECT count(*) FROM tasks AS t2"
            " WHERE t2.board_id = tasks.board_id AND t2.status = tasks.status"
            " AND (t2.rank < tasks.rank OR (t2.rank = tasks.rank AND t2.id < tasks.id)))"
        )
    )
    with op.batch_alter_table("tasks", schema=None, **KEEP_IDS) as batch_op:
        batch_op.alter_column("position", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index("ix_tasks_board_id_status_rank")
        batch_op.drop_column("rank")
        batch_op.create_index(
            "ix_tasks_board_id_status_position", ["board_id", "status", "position"], unique=False
        )
