"""The results store: SQLite in WAL mode, one transaction per record, so a crash never
loses what was already recorded and two writers can share one file.

Tables: ``suite_runs`` (one ``genbench run`` invocation), ``runs`` (one generator x
dataset x budget x seed, with options, what it was given and used, environment),
``evaluations`` (each scheduled evaluation) and ``metrics`` (the final numbers).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import UsageError

APPLICATION_ID = 0x47454E42  # "GENB": marks the file as a genbench database
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS suite_runs (
    id TEXT PRIMARY KEY, suite TEXT NOT NULL, label TEXT, budget TEXT,
    started REAL NOT NULL, finished REAL, options TEXT NOT NULL, env TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, suite_run TEXT NOT NULL REFERENCES suite_runs(id),
    generator TEXT NOT NULL, dataset TEXT NOT NULL, budget TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, reason TEXT, failed_step INTEGER, run_dir TEXT NOT NULL,
    options TEXT NOT NULL, given TEXT NOT NULL, used TEXT, env TEXT NOT NULL,
    started REAL NOT NULL, finished REAL
);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT NOT NULL REFERENCES runs(id), images_seen INTEGER NOT NULL, wall_s REAL NOT NULL,
    values_json TEXT NOT NULL, PRIMARY KEY (run_id, images_seen)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, value REAL,
    direction TEXT NOT NULL, n INTEGER, details TEXT NOT NULL, unavailable TEXT,
    PRIMARY KEY (run_id, name)
);
"""


class ResultsStore:
    """A genbench results database (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the results directory {self.path.parent}: {exc.strerror}") from exc
        self._check_existing_file()
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=60000")
            with self.transaction():
                app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
                if app_id == 0:  # a new file: make it ours
                    self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            self.db.execute(statement)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise UsageError(f"{self.path} is not a usable genbench database ({exc}); "
                             "it was left untouched: pass another --db path") from exc
        self._check_schema()

    def _check_existing_file(self) -> None:
        """Refuses (leaving it untouched) a file that is not a genbench database."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb") as f:
            header = f.read(16)
        if header != b"SQLite format 3\x00":
            raise UsageError(f"{self.path} is not an SQLite database (corrupt or foreign file); "
                             "it was left untouched: pass another --db path")
        # Read-only, through SQLite (the header on disk may lag behind the WAL).
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path} is a corrupt SQLite database ({exc}); it was left untouched") from exc
        finally:
            con.close()
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            what = f"application_id {app_id:#x}" if app_id else f"tables: {', '.join(tables[:5])}"
            raise UsageError(f"{self.path} is an SQLite database of another application ({what}); "
                             "it was left untouched: pass another --db path")

    def _check_schema(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise UsageError(f"{self.path} has genbench schema version {version}; "
                             f"this genbench reads version {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # -- writes (each one transaction) -------------------------------------------------

    def add_suite_run(self, id: str, suite: str, label: str | None, budget: str,
                      options: dict, env: dict) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO suite_runs (id, suite, label, budget, started, options, env) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (id, suite, label, budget, time.time(), json.dumps(options), json.dumps(env)),
            )

    def finish_suite_run(self, id: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE suite_runs SET finished = ? WHERE id = ?", (time.time(), id))

    def add_run(self, run: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs (id, suite_run, generator, dataset, budget, seed, status, run_dir, "
                "options, given, env, started) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (run["id"], run["suite_run"], run["generator"], run["dataset"], run["budget"],
                 run["seed"], run["run_dir"], json.dumps(run["options"]), json.dumps(run["given"]),
                 json.dumps(run["env"]), time.time()),
            )

    def mark_resumed(self, run_id: str, env: dict) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'running', reason = NULL, env = ? WHERE id = ?",
                       (json.dumps(env), run_id))

    def add_evaluation(self, run_id: str, images_seen: int, wall_s: float, values: dict) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO evaluations (run_id, images_seen, wall_s, values_json) "
                "VALUES (?, ?, ?, ?)",
                (run_id, images_seen, wall_s, json.dumps(values)),
            )

    def finish_run(self, run_id: str, status: str, used: dict, metrics: list[dict],
                   reason: str | None = None, failed_step: int | None = None) -> None:
        """Final metrics and status of a run, in one transaction."""
        with self.transaction() as db:
            for m in metrics:
                db.execute(
                    "INSERT OR REPLACE INTO metrics (run_id, name, value, direction, n, details, unavailable) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (run_id, m["name"], m.get("value"), m["direction"], m.get("n"),
                     json.dumps(m.get("details", {})), m.get("unavailable")),
                )
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, failed_step = ?, used = ?, finished = ? WHERE id = ?",
                (status, reason, failed_step, json.dumps(used), time.time(), run_id),
            )

    # -- reads -------------------------------------------------------------------------

    def suite_runs(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM suite_runs ORDER BY started").fetchall()

    def latest_suite_run(self, suite: str | None = None) -> sqlite3.Row | None:
        q = "SELECT * FROM suite_runs" + (" WHERE suite = ? OR label = ?" if suite else "")
        args = (suite, suite) if suite else ()
        return self.db.execute(q + " ORDER BY started DESC LIMIT 1", args).fetchone()

    def runs(self, suite_run: str | None = None, run_ids: list[str] | None = None) -> list[sqlite3.Row]:
        if run_ids:
            marks = ",".join("?" * len(run_ids))
            return self.db.execute(f"SELECT * FROM runs WHERE id IN ({marks}) ORDER BY started", run_ids).fetchall()
        if suite_run:
            return self.db.execute("SELECT * FROM runs WHERE suite_run = ? ORDER BY started", (suite_run,)).fetchall()
        return self.db.execute("SELECT * FROM runs ORDER BY started").fetchall()

    def run(self, run_id: str) -> sqlite3.Row | None:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:  # allow a unique prefix, as git does
            rows = self.db.execute("SELECT * FROM runs WHERE id LIKE ?", (run_id + "%",)).fetchall()
            row = rows[0] if len(rows) == 1 else None
        return row

    def metrics(self, run_id: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM metrics WHERE run_id = ? ORDER BY name", (run_id,)).fetchall()

    def evaluations(self, run_id: str) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM evaluations WHERE run_id = ? ORDER BY images_seen", (run_id,)
        ).fetchall()
