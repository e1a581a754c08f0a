"""The results store's tables at the current schema revision, in SQLAlchemy Core, so
that one definition serves SQLite and PostgreSQL. ``records.migrations`` holds how each
earlier revision is brought here.

JSON columns are text holding JSON (not a JSON type): both backends store the exact
text, and ``records.decode`` checks it as it is read. Numbers that can pass 2**31
(seeds, images seen, pids) are BIGINT, which SQLite reads as its one INTEGER type.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, MetaData, Table, Text, text

metadata = MetaData()

suite_runs = Table(
    "suite_runs", metadata,
    Column("id", Text, primary_key=True),
    Column("suite", Text, nullable=False),
    Column("label", Text),
    Column("budget", Text),
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Column("options", Text, nullable=False),
    Column("env", Text, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Text, primary_key=True),
    Column("suite_run", Text, ForeignKey("suite_runs.id"), nullable=False),
    Column("generator", Text, nullable=False),
    Column("dataset", Text, nullable=False),
    Column("budget", Text, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("failed_step", BigInteger),
    Column("run_dir", Text, nullable=False),
    Column("options", Text, nullable=False),
    Column("given", Text, nullable=False),
    Column("used", Text),
    Column("env", Text, nullable=False),
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Column("host", Text),
    Column("pid", BigInteger),
    Column("pid_started", Float),
    # How many sessions the run was started in: 1, or more after a resume or an
    # executor's retry (revision 4).
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Index("ix_runs_suite_run", "suite_run"),
    Index("ix_runs_generator", "generator"),
)

evaluations = Table(
    "evaluations", metadata,
    Column("run_id", Text, ForeignKey("runs.id"), primary_key=True),
    Column("images_seen", BigInteger, primary_key=True),
    Column("wall_s", Float, nullable=False),
    Column("values_json", Text, nullable=False),
)

metrics = Table(
    "metrics", metadata,
    Column("run_id", Text, ForeignKey("runs.id"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Float),
    Column("direction", Text, nullable=False),
    Column("n", BigInteger),
    Column("details", Text, nullable=False),
    Column("unavailable", Text),
    Column("kind", Text, nullable=False, server_default=text("'other'")),
)

# In the order rows must be written (each table's parents first).
TABLES = (suite_runs, runs, evaluations, metrics)
TABLE_NAMES = tuple(t.name for t in TABLES)


def columns() -> dict[str, tuple[str, ...]]:
    """Each table's columns at the current revision."""
    return {t.name: tuple(c.name for c in t.columns) for t in TABLES}
