"""Which process runs a run (host, pid and the process's start time), so that a run
whose process is gone reads as interrupted, not running (SQLite ``user_version`` 3).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("host", sa.Text))
    op.add_column("runs", sa.Column("pid", sa.BigInteger))
    op.add_column("runs", sa.Column("pid_started", sa.Float))


def downgrade() -> None:
    for column in ("pid_started", "pid", "host"):
        op.drop_column("runs", column)
