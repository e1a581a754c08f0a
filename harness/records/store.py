"""The results store: SQLite in WAL mode, one transaction per record, so a crash never
loses what was already recorded and two writers can share one file. It is the only code
that knows SQL; it hands out typed records (``records.types``).

Tables: ``suite_runs`` (one ``genbench run`` invocation), ``runs`` (one generator x
dataset x budget x seed, with options, what it was given and used, environment),
``evaluations`` (each scheduled evaluation) and ``metrics`` (the final numbers).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.records import schema
from harness.records.processes import ProcessId
from harness.records.rundir import RunDir
from harness.records.types import UNFINISHED, Evaluation, MetricPoint, MetricValue, Run, Selection, SuiteRun


def _suite_run(row: sqlite3.Row) -> SuiteRun:
    return SuiteRun(row["id"], row["suite"], row["label"], row["budget"], row["started"], row["finished"],
                    json.loads(row["options"]), json.loads(row["env"]))


def _run(row: sqlite3.Row) -> Run:
    status, reason = row["status"], row["reason"]
    process = ProcessId(row["host"], row["pid"], row["pid_started"]) if row["pid"] is not None else None
    if status == "running" and process is None:  # recorded before processes were: long gone
        status, reason = "interrupted", f"interrupted; continue with: genbench run --resume {row['suite_run']}"
    elif status == "running" and (process.alive() is False
                                  or (process.alive() is None and not RunDir(Path(row["run_dir"])).held())):
        status, reason = "interrupted", (f"its process ({process.describe()}) is gone; continue with: "
                                         f"genbench run --resume {row['suite_run']}")
    return Run(row["id"], row["suite_run"], row["generator"], row["dataset"], row["budget"], row["seed"],
               status, reason, row["failed_step"], Path(row["run_dir"]), json.loads(row["options"]),
               json.loads(row["given"]), json.loads(row["used"] or "{}"), json.loads(row["env"]),
               row["started"], row["finished"], process)


def _metric(row: sqlite3.Row) -> MetricValue:
    return MetricValue(row["name"], row["value"], row["direction"], row["kind"], row["n"],
                       json.loads(row["details"]), row["unavailable"])


def _like_prefix(text: str) -> str:
    """A LIKE pattern matching ``text`` literally as a prefix."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class ResultsStore:
    """A genbench results database (created on first use; an older schema is migrated)."""

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
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                if self.db.execute("PRAGMA application_id").fetchone()[0] == 0:  # a new file: make it ours
                    schema.create(self.db)
                elif version > schema.SCHEMA_VERSION:
                    raise UsageError(f"{self.path} has genbench schema version {version}; this genbench reads "
                                     f"versions up to {schema.SCHEMA_VERSION}: upgrade genbench")
                elif version < schema.SCHEMA_VERSION:
                    schema.migrate(self.db, version)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise UsageError(f"{self.path} is not a usable genbench database ({exc}); "
                             "it was left untouched: pass another --db path") from exc
        except UsageError:
            self.db.close()
            raise

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
        if app_id != schema.APPLICATION_ID and (app_id != 0 or tables):
            what = f"application_id {app_id:#x}" if app_id else f"tables: {', '.join(tables[:5])}"
            raise UsageError(f"{self.path} is an SQLite database of another application ({what}); "
                             "it was left untouched: pass another --db path")

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

    @property
    def journal_mode(self) -> str:
        return self.db.execute("PRAGMA journal_mode").fetchone()[0]

    # -- writes (each one transaction) -------------------------------------------------

    def add_suite_run(self, id: str, suite: str, label: str | None, budget: str, options: dict, env: dict,
                      started: float | None = None, runs: Iterable[dict[str, Any]] = ()) -> None:
        """A suite run and every run planned for it (``add_run``'s arguments, each
        recorded ``pending``), in one transaction: a crash records all of them or none."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO suite_runs (id, suite, label, budget, started, options, env) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (id, suite, label, budget, time.time() if started is None else started, json.dumps(options),
                 json.dumps(env)),
            )
            for run in runs:
                self._insert_run(db, **run)

    def finish_suite_run(self, id: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE suite_runs SET finished = ? WHERE id = ?", (time.time(), id))

    def finish_suite_run_if_done(self, id: str) -> bool:
        """Marks the suite run finished when none of its runs is left to do; says whether it is."""
        if any(r.status in UNFINISHED for r in self.runs(suite_run=id)):
            return False
        self.finish_suite_run(id)
        return True

    def add_run(self, **run: Any) -> None:
        """A new run of an existing suite run, recorded as ``pending``."""
        with self.transaction() as db:
            self._insert_run(db, **run)

    @staticmethod
    def _insert_run(db: sqlite3.Connection, *, id: str, suite_run: str, generator: str, dataset: str, budget: str,
                    seed: int, run_dir: Path | str, options: dict, given: dict, env: dict) -> None:
        db.execute(
            "INSERT INTO runs (id, suite_run, generator, dataset, budget, seed, status, run_dir, "
            "options, given, env, started) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
            (id, suite_run, generator, dataset, budget, seed, str(run_dir), json.dumps(options),
             json.dumps(given), json.dumps(env), time.time()),
        )

    def start_run(self, run_id: str, env: dict, process: ProcessId) -> None:
        """The run is running (again) in ``process``."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'running', reason = NULL, env = ?, host = ?, pid = ?, "
                       "pid_started = ? WHERE id = ?",
                       (json.dumps(env), process.host, process.pid, process.started, run_id))

    def add_evaluation(self, run_id: str, images_seen: int, wall_s: float, values: dict) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO evaluations (run_id, images_seen, wall_s, values_json) "
                "VALUES (?, ?, ?, ?)",
                (run_id, images_seen, wall_s, json.dumps(values)),
            )

    def finish_run(self, run_id: str, status: str, used: dict, metrics: Iterable[MetricValue] = (),
                   reason: str | None = None, failed_step: int | None = None) -> None:
        """Final metrics and status of a run, in one transaction."""
        with self.transaction() as db:
            for m in metrics:
                db.execute(
                    "INSERT OR REPLACE INTO metrics (run_id, name, value, direction, n, details, unavailable, kind) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, m.name, m.value, m.direction, m.n, json.dumps(m.details), m.unavailable, m.kind),
                )
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, failed_step = ?, used = ?, finished = ? WHERE id = ?",
                (status, reason, failed_step, json.dumps(used), time.time(), run_id),
            )

    # -- reads -------------------------------------------------------------------------

    def suite_runs(self) -> list[SuiteRun]:
        return [_suite_run(r) for r in self.db.execute("SELECT * FROM suite_runs ORDER BY started")]

    def suite_run(self, id: str) -> SuiteRun | None:
        row = self.db.execute("SELECT * FROM suite_runs WHERE id = ?", (id,)).fetchone()
        return None if row is None else _suite_run(row)

    def latest_suite_run(self, suite: str | None = None) -> SuiteRun | None:
        """The newest suite run, or the newest of a suite (by name or label)."""
        q = "SELECT * FROM suite_runs" + (" WHERE suite = ? OR label = ?" if suite else "")
        row = self.db.execute(q + " ORDER BY started DESC LIMIT 1", (suite, suite) if suite else ()).fetchone()
        return None if row is None else _suite_run(row)

    def runs(self, suite_run: str | None = None, run_ids: list[str] | None = None) -> list[Run]:
        """Runs in the order they started: of one suite run, with the given ids, or all."""
        if run_ids:
            marks = ",".join("?" * len(run_ids))
            rows = self.db.execute(f"SELECT * FROM runs WHERE id IN ({marks}) ORDER BY started", run_ids)
        elif suite_run:
            rows = self.db.execute("SELECT * FROM runs WHERE suite_run = ? ORDER BY started", (suite_run,))
        else:
            rows = self.db.execute("SELECT * FROM runs ORDER BY started")
        return [_run(r) for r in rows]

    def run(self, ref: str) -> Run | None:
        """A run by id, or by a unique prefix of its id (as git does)."""
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (ref,)).fetchone()
        if row is None and ref:
            rows = self._runs_with_prefix(ref)
            return rows[0] if len(rows) == 1 else None
        return None if row is None else _run(row)

    def _runs_with_prefix(self, prefix: str) -> list[Run]:
        rows = self.db.execute("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\'", (_like_prefix(prefix),))
        return [_run(r) for r in rows]

    def metrics(self, run_id: str) -> list[MetricValue]:
        return [_metric(r) for r in self.db.execute("SELECT * FROM metrics WHERE run_id = ? ORDER BY name",
                                                    (run_id,))]

    def evaluations(self, run_id: str) -> list[Evaluation]:
        rows = self.db.execute("SELECT * FROM evaluations WHERE run_id = ? ORDER BY images_seen", (run_id,))
        return [Evaluation(r["run_id"], r["images_seen"], r["wall_s"], json.loads(r["values_json"])) for r in rows]

    def labels(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT label FROM suite_runs WHERE label IS NOT NULL ORDER BY label")]

    def generators(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT generator FROM runs ORDER BY 1")]

    def metric_names(self, generator: str) -> list[str]:
        """The metrics with a value in some run of ``generator``."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT m.name FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.generator = ? "
            "AND m.value IS NOT NULL ORDER BY 1", (generator,))]

    # -- selections --------------------------------------------------------------------

    def resolve(self, ref: str) -> Selection:
        """The runs a reference names, tried in order: a run id, a suite-run id, a label
        (all suite runs that carry it, so seeds split over several invocations add up),
        then a unique run-id prefix."""
        if not ref:
            raise UsageError("an empty reference names nothing; give a run id, a suite-run id or a label")
        run = self.db.execute("SELECT * FROM runs WHERE id = ?", (ref,)).fetchone()
        if run is not None:
            return Selection([_run(run)], f"run {ref}")
        if self.suite_run(ref) is not None:
            return Selection(self.runs(suite_run=ref), f"suite run {ref}")
        labelled = [r[0] for r in self.db.execute("SELECT id FROM suite_runs WHERE label = ? ORDER BY started",
                                                  (ref,))]
        if labelled:
            return Selection([r for s in labelled for r in self.runs(suite_run=s)],
                             f"label {ref!r} ({len(labelled)} suite run(s))")
        prefixed = self._runs_with_prefix(ref)
        if len(prefixed) == 1:
            return Selection(prefixed, f"run {prefixed[0].id}")
        labels = self.labels()
        known = f"; labels in it: {', '.join(labels)}" if labels else ""
        what = "is ambiguous (several run ids start with it)" if prefixed else "matches no run, suite run or label"
        raise UsageError(f"{ref!r} {what} in {self.path}{known}")

    def metric_points(self, generator: str, metric: str, dataset: str | None = None,
                      budget: str | None = None) -> list[MetricPoint]:
        """Every finished run's value of ``metric`` for ``generator``, oldest suite run first."""
        query = """
            SELECT r.dataset, r.budget, r.suite_run, r.seed, r.used, s.label, s.started, m.value, m.direction
            FROM metrics m JOIN runs r ON r.id = m.run_id JOIN suite_runs s ON s.id = r.suite_run
            WHERE r.generator = ? AND m.name = ? AND r.status = 'ok' AND m.value IS NOT NULL"""
        args: list[Any] = [generator, metric]
        for column, value in (("r.dataset", dataset), ("r.budget", budget)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        rows = self.db.execute(query + " ORDER BY s.started, r.seed", args)
        return [MetricPoint(r["dataset"], r["budget"], json.loads(r["used"] or "{}").get("setting"), r["suite_run"],
                            r["label"], r["started"], r["seed"], float(r["value"]), r["direction"]) for r in rows]
