"""A store many hosts share: how many sessions each run took (a resume, or an
executor's retry after a lost node, adds one), and indexes for the lookups every
writer makes (a suite run's runs, a generator's history), which a large PostgreSQL
history needs (SQLite ``user_version`` 4).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")))
    # A run that started before this revision started at least once.
    op.execute("UPDATE runs SET attempts = 1 WHERE status <> 'pending'")
    op.create_index("ix_runs_suite_run", "runs", ["suite_run"])
    op.create_index("ix_runs_generator", "runs", ["generator"])


def downgrade() -> None:
    op.drop_index("ix_runs_generator", "runs")
    op.drop_index("ix_runs_suite_run", "runs")
    op.drop_column("runs", "attempts")
