"""The results store: SQLite in WAL mode, one transaction per record, so a crash never
loses what was already recorded and two writers can share one file. It is the only code
that knows SQL; it hands out typed records (``records.types``).

Tables: ``suite_runs`` (one ``genbench run`` invocation), ``runs`` (one generator x
dataset x budget x seed, with options, what it was given and used, environment),
``evaluations`` (each scheduled evaluation) and ``metrics`` (the final numbers).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.records import dbfile, decode, schema
from harness.records.processes import ProcessId
from harness.records.refs import REFERENCE, could_be_run_id, like_prefix
from harness.records.types import UNFINISHED, Evaluation, MetricPoint, MetricValue, Run, Selection, SuiteRun


class ResultsStore:
    """A genbench results database (created on first use; an older schema is migrated)."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        """``create`` False (the commands that only read): a missing or empty file is
        refused, not made a database, so that reading never creates a file."""
        self.path = Path(path)
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(f"cannot create the results directory {self.path.parent}: {exc.strerror}") from exc
        dbfile.check_before_opening(self.path, create)
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        except sqlite3.Error as exc:
            raise UsageError(f"cannot open the results database {self.path}: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        try:
            dbfile.check_version(self.db, self.path)  # before anything is written to it
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=60000")
            with self.transaction():
                if dbfile.check_version(self.db, self.path) == 0:  # a new file: make it ours
                    schema.create(self.db)
                elif (version := self.db.execute("PRAGMA user_version").fetchone()[0]) < schema.SCHEMA_VERSION:
                    schema.migrate(self.db, version)
            dbfile.check_tables(self.db, self.path)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise UsageError(f"{self.path} is not a usable genbench database ({exc}); "
                             "it was left untouched: pass another --db path") from exc
        except UsageError:
            self.db.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write; a damaged file is reported as bad input, and the write undone."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if dbfile.is_damage(exc):
                raise dbfile.unreadable(self.path, exc) from exc
            raise

    def _rows(self, query: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Every row of a read; a damaged file or a missing table is bad input, named."""
        try:
            return self.db.execute(query, tuple(args)).fetchall()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise dbfile.unreadable(self.path, exc) from exc

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
        """An evaluation's values. A second one at the same images seen (the final
        evaluation right after a scheduled one, or one re-done after a resume) is merged
        into the first, so the training losses logged with the first are kept."""
        with self.transaction() as db:
            earlier = db.execute("SELECT values_json FROM evaluations WHERE run_id = ? AND images_seen = ?",
                                 (run_id, images_seen)).fetchone()
            # In Python, not SQLite's json_patch: a logged NaN is not JSON to SQLite, and a
            # damaged earlier row is replaced rather than failing the run.
            with contextlib.suppress(TypeError, ValueError):
                merged = json.loads(earlier[0]) if earlier else {}
                values = {**merged, **values} if isinstance(merged, dict) else values
            db.execute(
                "INSERT OR REPLACE INTO evaluations (run_id, images_seen, wall_s, values_json) VALUES (?, ?, ?, ?)",
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
        return [decode.suite_run(self.path, r) for r in self._rows("SELECT * FROM suite_runs ORDER BY started")]

    def suite_run(self, id: str) -> SuiteRun | None:
        rows = self._rows("SELECT * FROM suite_runs WHERE id = ?", (id,))
        return decode.suite_run(self.path, rows[0]) if rows else None

    def latest_suite_run(self, suite: str | None = None) -> SuiteRun | None:
        """The newest suite run, or the newest of a suite (by name or label)."""
        if suite is not None and not suite.strip():
            raise UsageError("an empty suite name names nothing; give a suite name or a label (genbench runs "
                             "lists them)")
        q = "SELECT * FROM suite_runs" + (" WHERE suite = ? OR label = ?" if suite is not None else "")
        rows = self._rows(q + " ORDER BY started DESC LIMIT 1", (suite, suite) if suite is not None else ())
        return decode.suite_run(self.path, rows[0]) if rows else None

    def runs(self, suite_run: str | None = None, run_ids: list[str] | None = None) -> list[Run]:
        """Runs in the order they started: of one suite run, with the given ids, or all."""
        if run_ids is not None:
            marks = ",".join("?" * len(run_ids))
            rows = self._rows(f"SELECT * FROM runs WHERE id IN ({marks}) ORDER BY started", run_ids)
        elif suite_run is not None:
            rows = self._rows("SELECT * FROM runs WHERE suite_run = ? ORDER BY started", (suite_run,))
            self._check_count(suite_run, len(rows))
        else:
            rows = self._rows("SELECT * FROM runs ORDER BY started")
        return [decode.run(self.path, r) for r in rows]

    def _check_count(self, suite_run: str, found: int) -> None:
        """A suite run records how many runs it planned: fewer rows is a damaged file."""
        record = self.suite_run(suite_run)
        planned = record.options.get("runs") if record is not None else None
        if isinstance(planned, int) and found < planned:
            raise UsageError(f"{self.path}: suite run {suite_run} recorded {planned} run(s), but the table runs holds "
                             f"{found} of them ({decode.REMEDY})")

    def run(self, ref: str) -> Run | None:
        """A run by id, or by a unique prefix of its id (as git does)."""
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (ref,))
        if rows:
            return decode.run(self.path, rows[0])
        prefixed = self._runs_with_prefix(ref)
        return prefixed[0] if len(prefixed) == 1 else None

    def _runs_with_prefix(self, prefix: str) -> list[Run]:
        """The runs whose id starts with ``prefix``, which must look like the start of an
        id (so that no LIKE wildcard, and no empty prefix, matches everything)."""
        if not could_be_run_id(prefix):
            return []
        rows = self._rows("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\'", (like_prefix(prefix),))
        return [decode.run(self.path, r) for r in rows]

    def metrics(self, run_id: str) -> list[MetricValue]:
        rows = self._rows("SELECT * FROM metrics WHERE run_id = ? ORDER BY name", (run_id,))
        return [decode.metric(self.path, r) for r in rows]

    def evaluations(self, run_id: str) -> list[Evaluation]:
        rows = self._rows("SELECT * FROM evaluations WHERE run_id = ? ORDER BY images_seen", (run_id,))
        return [decode.evaluation(self.path, r) for r in rows]

    def _names(self, query: str, args: Iterable[Any] = ()) -> list[str]:
        """A column of names (labels, generators, metrics); a damaged one is left out of the list."""
        return [r[0] for r in self._rows(query, args) if isinstance(r[0], str)]

    def labels(self) -> list[str]:
        return self._names("SELECT DISTINCT label FROM suite_runs WHERE label IS NOT NULL ORDER BY label")

    def generators(self) -> list[str]:
        return self._names("SELECT DISTINCT generator FROM runs ORDER BY 1")

    def metric_names(self, generator: str) -> list[str]:
        """The metrics with a value in some run of ``generator``."""
        return self._names("SELECT DISTINCT m.name FROM metrics m JOIN runs r ON r.id = m.run_id "
                           "WHERE r.generator = ? AND m.value IS NOT NULL ORDER BY 1", (generator,))

    # -- selections --------------------------------------------------------------------

    def resolve(self, ref: str) -> Selection:
        """The runs a reference names, tried in order: a run id, a suite-run id, a label
        (all suite runs that carry it, so seeds split over several invocations add up),
        then a unique run-id prefix. Each is matched exactly (a label may hold any text)."""
        if not ref.strip():
            raise UsageError(f"an empty reference names nothing; {REFERENCE} (genbench runs lists them)")
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (ref,))
        if rows:
            return Selection([decode.run(self.path, rows[0])], f"run {ref}")
        if self.suite_run(ref) is not None:
            return Selection(self.runs(suite_run=ref), f"suite run {ref}")
        labelled = [r[0] for r in self._rows("SELECT id FROM suite_runs WHERE label = ? ORDER BY started", (ref,))]
        if labelled:
            return Selection([r for s in labelled for r in self.runs(suite_run=s)],
                             f"label {ref!r} ({len(labelled)} suite run(s))")
        prefixed = self._runs_with_prefix(ref)
        if len(prefixed) == 1:
            return Selection(prefixed, f"run {prefixed[0].id}")
        labels = self.labels()
        known = f"; labels in it: {', '.join(labels)}" if labels else ""
        what = ("is ambiguous (several run ids start with it)" if prefixed
                else "matches no run, suite run or label")
        raise UsageError(f"{ref!r} {what} in {self.path} ({REFERENCE}; genbench runs lists them{known})")

    def metric_points(self, generator: str, metric: str, dataset: str | None = None,
                      budget: str | None = None) -> list[MetricPoint]:
        """Every finished run's value of ``metric`` for ``generator``, oldest suite run first."""
        query = """
            SELECT r.id, r.dataset, r.budget, r.suite_run, r.seed, r.used, r.given, s.label, s.started, m.run_id,
                   m.name, m.value, m.direction
            FROM metrics m JOIN runs r ON r.id = m.run_id JOIN suite_runs s ON s.id = r.suite_run
            WHERE r.generator = ? AND m.name = ? AND r.status = 'ok' AND m.value IS NOT NULL"""
        args: list[Any] = [generator, metric]
        for column, value in (("r.dataset", dataset), ("r.budget", budget)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        return [decode.metric_point(self.path, r) for r in self._rows(query + " ORDER BY s.started, r.seed", args)]
