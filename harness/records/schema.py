"""The results database's schema, and the migrations that bring an older file forward.

Version 1 was the first release's. Version 2 records each metric's kind (FD, KID,
coverage, ...) as a column, where version 1 left it to be parsed out of the name.
Version 3 records which process runs a run (host, pid and the process's start time), so
that a run whose process is gone reads as interrupted, not running.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable

APPLICATION_ID = 0x47454E42  # "GENB": marks the file as a genbench database
SCHEMA_VERSION = 3
TABLE_NAMES = ("suite_runs", "runs", "evaluations", "metrics")

TABLES = """
CREATE TABLE IF NOT EXISTS suite_runs (
    id TEXT PRIMARY KEY, suite TEXT NOT NULL, label TEXT, budget TEXT,
    started REAL NOT NULL, finished REAL, options TEXT NOT NULL, env TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, suite_run TEXT NOT NULL REFERENCES suite_runs(id),
    generator TEXT NOT NULL, dataset TEXT NOT NULL, budget TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, reason TEXT, failed_step INTEGER, run_dir TEXT NOT NULL,
    options TEXT NOT NULL, given TEXT NOT NULL, used TEXT, env TEXT NOT NULL,
    started REAL NOT NULL, finished REAL,
    host TEXT, pid INTEGER, pid_started REAL
);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT NOT NULL REFERENCES runs(id), images_seen INTEGER NOT NULL, wall_s REAL NOT NULL,
    values_json TEXT NOT NULL, PRIMARY KEY (run_id, images_seen)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, value REAL,
    direction TEXT NOT NULL, n INTEGER, details TEXT NOT NULL, unavailable TEXT,
    kind TEXT NOT NULL DEFAULT 'other',
    PRIMARY KEY (run_id, name)
);
"""

# The names version 1 gave its timing columns.
_V1_TIMING = ("train_images_per_s", "step_ms", "sample_images_per_s", "sample_batch_ms", "peak_mem_mb",
              "params", "wall_s")


def create(db: sqlite3.Connection) -> None:
    """Makes a new, empty file a genbench database of the current version."""
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    for statement in TABLES.split(";"):
        if statement.strip():
            db.execute(statement)


@functools.cache
def columns() -> dict[str, tuple[str, ...]]:
    """Each table's columns at the current version, as SQLite reads them from ``TABLES``."""
    db = sqlite3.connect(":memory:")
    try:
        create(db)
        return {t: tuple(r[1] for r in db.execute(f"PRAGMA table_info({t})")) for t in TABLE_NAMES}
    finally:
        db.close()


def _v1_to_v2(db: sqlite3.Connection) -> None:
    # Version 1 encoded the kind in the name; this is the one place that reads it so.
    db.execute("ALTER TABLE metrics ADD COLUMN kind TEXT NOT NULL DEFAULT 'other'")
    marks = ",".join("?" * len(_V1_TIMING))
    db.execute(f"UPDATE metrics SET kind = 'timing' WHERE name IN ({marks})", _V1_TIMING)
    db.execute("UPDATE metrics SET kind = 'fd' WHERE name = 'fid' OR name LIKE 'fd-%'")
    db.execute("UPDATE metrics SET kind = 'kid' WHERE name LIKE 'kid-%'")
    db.execute("UPDATE metrics SET kind = 'coverage' WHERE name LIKE 'modes-%' OR name LIKE 'mode-kl-%'")
    db.execute("UPDATE metrics SET kind = 'ssim' WHERE name = 'ssim'")
    db.execute("UPDATE metrics SET kind = 'extra' WHERE kind = 'other' AND json_extract(details, '$.source') "
               "IS NOT NULL")


def _v2_to_v3(db: sqlite3.Connection) -> None:
    for column in ("host TEXT", "pid INTEGER", "pid_started REAL"):
        db.execute(f"ALTER TABLE runs ADD COLUMN {column}")


# MIGRATIONS[v] brings a file from version v to v + 1.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Brings a file of an older ``version`` to the current one, inside the caller's
    transaction, so a crash midway leaves the file as it was."""
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](db)
        version += 1
        db.execute(f"PRAGMA user_version={version}")
