"""The results store: SQLite (a file, the embedded default) or PostgreSQL (a server many
hosts share), through one layer, SQLAlchemy Core. One transaction per record, so a crash
never loses what was already recorded, and every write is idempotent, so that many
writers (workers, hosts, an executor's retries) can share one store: run ids are unique,
an evaluation or a metric written twice is one row. It is the only code that knows
SQL; it hands out typed records (``records.types``).

Tables: ``suite_runs`` (one ``genbench run`` invocation), ``runs`` (one generator x
dataset x budget x seed, with options, what it was given and used, environment),
``evaluations`` (each scheduled evaluation) and ``metrics`` (the final numbers).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql import Executable

from harness.errors import UsageError
from harness.records import dbfile, decode, engine, schema
from harness.records.location import StoreLocation
from harness.records.processes import ProcessId
from harness.records.refs import REFERENCE, could_be_run_id, like_prefix
from harness.records.tables import evaluations, runs, suite_runs
from harness.records.tables import metrics as metrics_table
from harness.records.types import UNFINISHED, Evaluation, MetricPoint, MetricValue, Run, Selection, SuiteRun
from harness.records.upsert import upsert


class ResultsStore:
    """A genbench results store (created on first use; an older schema is upgraded)."""

    def __init__(self, location: str | os.PathLike | StoreLocation, create: bool = True) -> None:
        """``location``: an SQLite file's path or a ``postgresql://`` URL. ``create`` False
        (the commands that only read): a missing or empty store is refused, not made a
        database, so that reading never creates one."""
        self.location = location if isinstance(location, StoreLocation) else StoreLocation.parse(location)
        self.where = str(self.location)  # what messages name: never a password
        self.engine = engine.connect(self.location, create)

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for a server)."""
        return self.location.path

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write; a damaged file is reported as bad input, and the write undone."""
        try:
            with self.engine.connect() as connection:
                connection.execution_options(**{engine.WRITES: True})
                with connection.begin():
                    yield connection
        except (DBAPIError, UnicodeDecodeError) as exc:
            if dbfile.is_damage(exc):
                raise dbfile.unreadable(self.where, exc) from exc
            if isinstance(exc, OperationalError) and not self.location.is_sqlite:  # the server went away
                raise UsageError(f"{self.where}: the results database is unavailable: {dbfile.reason(exc)}; what "
                                 "was recorded before is kept (genbench run --resume continues)") from exc
            raise

    def _rows(self, query: Executable) -> list[Mapping[str, Any]]:
        """Every row of a read; a damaged file or a missing table is bad input, named."""
        try:
            with self.engine.connect() as connection:
                return list(connection.execute(query).mappings())
        except (DBAPIError, UnicodeDecodeError) as exc:
            raise dbfile.unreadable(self.where, exc) from exc

    def close(self) -> None:
        self.engine.dispose()

    @property
    def journal_mode(self) -> str | None:
        """SQLite's journal mode (``wal``); None for a server."""
        with self.engine.connect() as connection:
            return connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() if self.location.is_sqlite else None

    # -- writes (each one transaction) -------------------------------------------------

    def add_suite_run(self, id: str, suite: str, label: str | None, budget: str, options: dict, env: dict,
                      started: float | None = None, runs: Iterable[dict[str, Any]] = ()) -> None:
        """A suite run and every run planned for it (``add_run``'s arguments, each
        recorded ``pending``), in one transaction: a crash records all of them or none."""
        with self.transaction() as db:
            db.execute(suite_runs.insert().values(
                id=id, suite=suite, label=label, budget=budget, started=time.time() if started is None else started,
                options=json.dumps(options), env=json.dumps(env)))
            for run in runs:
                self._insert_run(db, **run)

    def finish_suite_run(self, id: str) -> None:
        with self.transaction() as db:
            db.execute(update(suite_runs).where(suite_runs.c.id == id).values(finished=time.time()))

    def finish_suite_run_if_done(self, id: str) -> bool:
        """Marks the suite run finished when none of its runs is left to do; says whether
        it is. Its row is locked meanwhile, so that of two hosts ending its last two
        entries at once, the second sees the first's run ended and marks it finished."""
        with self.transaction() as db:
            db.execute(select(suite_runs.c.id).where(suite_runs.c.id == id).with_for_update())
            rows = db.execute(select(runs).where(runs.c.suite_run == id)).mappings()
            if any(decode.run(self.where, r).status in UNFINISHED for r in rows):
                return False
            # The first host to see it done sets the time; the others leave it.
            db.execute(update(suite_runs).where((suite_runs.c.id == id) & suite_runs.c.finished.is_(None))
                       .values(finished=time.time()))
        return True

    def add_run(self, **run: Any) -> None:
        """A new run of an existing suite run, recorded as ``pending``."""
        with self.transaction() as db:
            self._insert_run(db, **run)

    @staticmethod
    def _insert_run(db: Connection, *, id: str, suite_run: str, generator: str, dataset: str, budget: str,
                    seed: int, run_dir: Path | str, options: dict, given: dict, env: dict) -> None:
        db.execute(runs.insert().values(
            id=id, suite_run=suite_run, generator=generator, dataset=dataset, budget=budget, seed=seed,
            status="pending", run_dir=str(run_dir), options=json.dumps(options), given=json.dumps(given),
            env=json.dumps(env), started=time.time()))

    def start_run(self, run_id: str, env: dict, process: ProcessId) -> None:
        """The run is running (again, after a resume or a retry) in ``process``."""
        with self.transaction() as db:
            db.execute(update(runs).where(runs.c.id == run_id).values(
                status="running", reason=None, env=json.dumps(env), host=process.host, pid=process.pid,
                pid_started=process.started, attempts=runs.c.attempts + 1))

    def add_evaluation(self, run_id: str, images_seen: int, wall_s: float, values: dict) -> None:
        """An evaluation's values. A second one at the same images seen (the final
        evaluation right after a scheduled one, or one re-done after a resume or a
        retry) is merged into the first, so the training losses logged with the first
        are kept, and it stays one row."""
        with self.transaction() as db:
            earlier = db.execute(select(evaluations.c.values_json).where(
                (evaluations.c.run_id == run_id) & (evaluations.c.images_seen == images_seen)).with_for_update()
            ).scalar_one_or_none()
            # In Python, not the database's JSON functions: a logged NaN is not JSON to
            # them, and a damaged earlier row is replaced rather than failing the run.
            with contextlib.suppress(TypeError, ValueError):
                merged = json.loads(earlier) if earlier else {}
                values = {**merged, **values} if isinstance(merged, dict) else values
            upsert(db, evaluations, {"run_id": run_id, "images_seen": images_seen, "wall_s": wall_s,
                                     "values_json": json.dumps(values)})

    def finish_run(self, run_id: str, status: str, used: dict, metrics: Iterable[MetricValue] = (),
                   reason: str | None = None, failed_step: int | None = None) -> None:
        """Final metrics and status of a run, in one transaction."""
        with self.transaction() as db:
            for m in metrics:
                upsert(db, metrics_table, {"run_id": run_id, "name": m.name, "value": m.value,
                                           "direction": m.direction, "n": m.n, "details": json.dumps(m.details),
                                           "unavailable": m.unavailable, "kind": m.kind})
            db.execute(update(runs).where(runs.c.id == run_id).values(
                status=status, reason=reason, failed_step=failed_step, used=json.dumps(used), finished=time.time()))

    # -- reads -------------------------------------------------------------------------

    def suite_runs(self) -> list[SuiteRun]:
        return [decode.suite_run(self.where, r) for r in self._rows(select(suite_runs).order_by(suite_runs.c.started))]

    def suite_run(self, id: str) -> SuiteRun | None:
        rows = self._rows(select(suite_runs).where(suite_runs.c.id == id))
        return decode.suite_run(self.where, rows[0]) if rows else None

    def latest_suite_run(self, suite: str | None = None) -> SuiteRun | None:
        """The newest suite run, or the newest of a suite (by name or label)."""
        if suite is not None and not suite.strip():
            raise UsageError("an empty suite name names nothing; give a suite name or a label (genbench runs "
                             "lists them)")
        query = select(suite_runs)
        if suite is not None:
            query = query.where((suite_runs.c.suite == suite) | (suite_runs.c.label == suite))
        rows = self._rows(query.order_by(suite_runs.c.started.desc()).limit(1))
        return decode.suite_run(self.where, rows[0]) if rows else None

    def runs(self, suite_run: str | None = None, run_ids: list[str] | None = None) -> list[Run]:
        """Runs in the order they started: of one suite run, with the given ids, or all."""
        query = select(runs).order_by(runs.c.started, runs.c.id)
        if run_ids is not None:
            rows = self._rows(query.where(runs.c.id.in_(run_ids)))
        elif suite_run is not None:
            rows = self._rows(query.where(runs.c.suite_run == suite_run))
            self._check_count(suite_run, len(rows))
        else:
            rows = self._rows(query)
        return [decode.run(self.where, r) for r in rows]

    def _check_count(self, suite_run: str, found: int) -> None:
        """A suite run records how many runs it planned: fewer rows is a damaged store."""
        record = self.suite_run(suite_run)
        planned = record.options.get("runs") if record is not None else None
        if isinstance(planned, int) and found < planned:
            raise UsageError(f"{self.where}: suite run {suite_run} recorded {planned} run(s), but the table runs holds "
                             f"{found} of them ({decode.REMEDY})")

    def run(self, ref: str) -> Run | None:
        """A run by id, or by a unique prefix of its id (as git does)."""
        rows = self._rows(select(runs).where(runs.c.id == ref))
        if rows:
            return decode.run(self.where, rows[0])
        prefixed = self._runs_with_prefix(ref)
        return prefixed[0] if len(prefixed) == 1 else None

    def _runs_with_prefix(self, prefix: str) -> list[Run]:
        """The runs whose id starts with ``prefix``, which must look like the start of an
        id (so that no LIKE wildcard, and no empty prefix, matches everything)."""
        if not could_be_run_id(prefix):
            return []
        rows = self._rows(select(runs).where(runs.c.id.like(like_prefix(prefix), escape="\\")))
        return [decode.run(self.where, r) for r in rows]

    def metrics(self, run_id: str) -> list[MetricValue]:
        rows = self._rows(select(metrics_table).where(metrics_table.c.run_id == run_id).order_by(metrics_table.c.name))
        return [decode.metric(self.where, r) for r in rows]

    def evaluations(self, run_id: str) -> list[Evaluation]:
        rows = self._rows(select(evaluations).where(evaluations.c.run_id == run_id)
                          .order_by(evaluations.c.images_seen))
        return [decode.evaluation(self.where, r) for r in rows]

    def _names(self, query: Executable) -> list[str]:
        """A column of names (labels, generators, metrics); a damaged one is left out of the list."""
        return [name for r in self._rows(query) if isinstance(name := next(iter(r.values())), str)]

    def labels(self) -> list[str]:
        label = suite_runs.c.label
        return self._names(select(label).distinct().where(label.is_not(None)).order_by(label))

    def generators(self) -> list[str]:
        return self._names(select(runs.c.generator).distinct().order_by(runs.c.generator))

    def metric_names(self, generator: str) -> list[str]:
        """The metrics with a value in some run of ``generator``."""
        name = metrics_table.c.name
        return self._names(select(name).distinct().join(runs, runs.c.id == metrics_table.c.run_id)
                           .where((runs.c.generator == generator) & metrics_table.c.value.is_not(None))
                           .order_by(name))

    def revision(self) -> str | None:
        """The store's schema revision (``records.schema.HEAD`` once it is open)."""
        with self.engine.connect() as connection:
            return schema.current(connection)

    def counts(self) -> dict[str, int]:
        """How many rows each table holds."""
        return {t.name: self._rows(select(func.count().label("n")).select_from(t))[0]["n"]
                for t in (suite_runs, runs, evaluations, metrics_table)}

    # -- selections --------------------------------------------------------------------

    def resolve(self, ref: str) -> Selection:
        """The runs a reference names, tried in order: a run id, a suite-run id, a label
        (all suite runs that carry it, so seeds split over several invocations add up),
        then a unique run-id prefix. Each is matched exactly (a label may hold any text)."""
        if not ref.strip():
            raise UsageError(f"an empty reference names nothing; {REFERENCE} (genbench runs lists them)")
        rows = self._rows(select(runs).where(runs.c.id == ref))
        if rows:
            return Selection([decode.run(self.where, rows[0])], f"run {ref}")
        if self.suite_run(ref) is not None:
            return Selection(self.runs(suite_run=ref), f"suite run {ref}")
        labelled = [r["id"] for r in self._rows(select(suite_runs.c.id).where(suite_runs.c.label == ref)
                                                .order_by(suite_runs.c.started))]
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
        raise UsageError(f"{ref!r} {what} in {self.where} ({REFERENCE}; genbench runs lists them{known})")

    def metric_points(self, generator: str, metric: str, dataset: str | None = None,
                      budget: str | None = None) -> list[MetricPoint]:
        """Every finished run's value of ``metric`` for ``generator``, oldest suite run first."""
        r, s, m = runs.c, suite_runs.c, metrics_table.c
        query = (select(r.id, r.dataset, r.budget, r.suite_run, r.seed, r.used, r.given, s.label, s.started,
                        m.run_id, m.name, m.value, m.direction)
                 .select_from(metrics_table.join(runs, r.id == m.run_id).join(suite_runs, s.id == r.suite_run))
                 .where((r.generator == generator) & (m.name == metric) & (r.status == "ok") & m.value.is_not(None)))
        if dataset is not None:
            query = query.where(r.dataset == dataset)
        if budget is not None:
            query = query.where(r.budget == budget)
        return [decode.metric_point(self.where, row) for row in self._rows(query.order_by(s.started, r.seed))]
