"""The first release's schema (SQLite ``user_version`` 1).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suite_runs",
        sa.Column("id", sa.Text, primary_key=True), sa.Column("suite", sa.Text, nullable=False),
        sa.Column("label", sa.Text), sa.Column("budget", sa.Text), sa.Column("started", sa.Float, nullable=False),
        sa.Column("finished", sa.Float), sa.Column("options", sa.Text, nullable=False),
        sa.Column("env", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("suite_run", sa.Text, sa.ForeignKey("suite_runs.id"), nullable=False),
        sa.Column("generator", sa.Text, nullable=False), sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("budget", sa.Text, nullable=False), sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False), sa.Column("reason", sa.Text),
        sa.Column("failed_step", sa.BigInteger), sa.Column("run_dir", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False), sa.Column("given", sa.Text, nullable=False),
        sa.Column("used", sa.Text), sa.Column("env", sa.Text, nullable=False),
        sa.Column("started", sa.Float, nullable=False), sa.Column("finished", sa.Float),
    )
    op.create_table(
        "evaluations",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("images_seen", sa.BigInteger, primary_key=True), sa.Column("wall_s", sa.Float, nullable=False),
        sa.Column("values_json", sa.Text, nullable=False),
    )
    op.create_table(
        "metrics",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True), sa.Column("value", sa.Float),
        sa.Column("direction", sa.Text, nullable=False), sa.Column("n", sa.BigInteger),
        sa.Column("details", sa.Text, nullable=False), sa.Column("unavailable", sa.Text),
    )


def downgrade() -> None:
    for table in ("metrics", "evaluations", "runs", "suite_runs"):
        op.drop_table(table)
