"""Each metric's kind (FD, KID, coverage, ...) as a column, where revision 1 left it to
be parsed out of the name (SQLite ``user_version`` 2).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The names revision 1 gave its timing columns.
V1_TIMING = ("train_images_per_s", "step_ms", "sample_images_per_s", "sample_batch_ms", "peak_mem_mb", "params",
             "wall_s")


def upgrade() -> None:
    op.add_column("metrics", sa.Column("kind", sa.Text, nullable=False, server_default=sa.text("'other'")))
    # Revision 1 encoded the kind in the name; this is the one place that reads it so.
    metrics = sa.table("metrics", sa.column("name"), sa.column("kind"), sa.column("details"))
    name = metrics.c.name
    for kind, where in (("timing", name.in_(V1_TIMING)), ("fd", (name == "fid") | name.like("fd-%")),
                        ("kid", name.like("kid-%")), ("coverage", name.like("modes-%") | name.like("mode-kl-%")),
                        ("ssim", name == "ssim")):
        op.execute(metrics.update().where(where).values(kind=kind))
    # A plugin's extra metric: its details name the plugin it came from.
    source = ("json_extract(details, '$.source')" if op.get_bind().dialect.name == "sqlite"
              else "(details::json ->> 'source')")
    op.execute(f"UPDATE metrics SET kind = 'extra' WHERE kind = 'other' AND {source} IS NOT NULL")


def downgrade() -> None:
    op.drop_column("metrics", "kind")
