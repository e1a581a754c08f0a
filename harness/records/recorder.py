"""``RunRecorder``: the one owner of a run's record, its folder and its database rows
together. A suite's runs are planned (``plan``: a folder each, recorded ``pending`` with
their suite run in one transaction); the runner then calls ``begin``, ``start``,
``evaluation``, ``checkpoint`` and one of ``finish``, ``fail`` or ``interrupt``. Nothing
else writes a run's files or rows."""

from __future__ import annotations

import contextlib
import errno
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UsageError, one_line
from harness.records import options as run_options
from harness.records.processes import ProcessId
from harness.records.rundir import RunDir
from harness.records.store import ResultsStore
from harness.records.types import MetricValue, Run


def _warn(message: str) -> None:
    print(f"genbench: warning: {message}", file=sys.stderr, flush=True)


def describe_failure(exc: BaseException) -> str:
    """A failure as its reason: a full disk says so plainly, whatever layer raised it,
    and a plugin's ``sys.exit`` is named as such."""
    if isinstance(exc, SystemExit):
        return f"a plugin raised SystemExit({exc.code!r}) (sys.exit in a plugin ends its run, not genbench)"
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc):
        where = f": {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
        return f"no space left on device{where}"
    return one_line(f"{type(exc).__name__}: {exc}")


class RunRecorder:
    """Records one run. ``options`` is what ``options.json`` holds (``RunPlan.options()``
    plus the run's ids); it is written once, by ``start`` (or by ``fail`` when the run
    failed before it could start)."""

    def __init__(self, store: ResultsStore, run: Run, options: dict[str, Any], options_written: bool) -> None:
        self.store, self.run_id, self.dir, self.options = store, run.id, RunDir(run.run_dir), options
        self.suite_run = run.suite_run
        self._options_written = options_written

    @staticmethod
    def plan(root: Path, options: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
        """A planned run's folder, and its row for ``ResultsStore.add_suite_run(runs=...)``.
        ``options`` must name its suite, suite run, generator, dataset, budget and seed."""
        run_id, run_dir = RunDir.create(root, options["suite"], options["generator"], options["dataset"])
        options = {**options, "run_id": run_id}
        return {"id": run_id, "suite_run": options["suite_run"], "generator": options["generator"],
                "dataset": options["dataset"], "budget": options["budget"]["name"], "seed": options["seed"],
                "run_dir": run_dir.path, "options": options, "given": options["budget"], "env": env}

    @classmethod
    def open(cls, store: ResultsStore, run_id: str, check: bool = True) -> RunRecorder:
        """The recorder of a recorded run that is still to finish (pending or interrupted),
        its options checked (``records.options``). ``check`` False: only to record how it
        ended (``fail``), which a damaged options.json must not prevent."""
        run = store.run(run_id)
        if run is None:
            raise UsageError(f"no run {run_id!r} in {store.where}")
        if run.done:
            raise UsageError(f"run {run.id} already finished ({run.status}); nothing to resume")
        if run.status == "running":
            holder = run.process.describe() if run.process else "another process"
            raise UsageError(f"run {run.id} is running ({holder}); it cannot be resumed while it runs")
        folder = RunDir(run.run_dir)
        if not check:
            return cls(store, run, run.options, folder.options_file.exists())
        if folder.options_file.exists() and not folder.options_file.is_file():
            raise UsageError(f"{folder.options_file} is not a file; it must hold the run's options as a JSON object")
        written = folder.options_file.is_file()
        if written:  # what the run resumes from: it must be what was recorded
            options = run_options.check(folder.read_options(), str(folder.options_file), run.id, run.options,
                                        store.where)
        else:
            options = run_options.check(run.options, f"{store.where}: table runs, row id {run.id!r}, column options",
                                        run.id)
        return cls(store, run, options, written)

    @classmethod
    def reopen(cls, store: ResultsStore, ref: str) -> RunRecorder:
        """An unfinished run to resume, named by its id (or a unique prefix) or its folder."""
        if not ref.strip():
            raise UsageError("--resume needs a run id, a suite-run id or a run directory, got an empty string")
        folder = RunDir(Path(ref))
        if folder.options_file.exists() and not folder.options_file.is_file():
            raise UsageError(f"{folder.options_file} is not a file; it must hold the run's options as a JSON object")
        if not folder.options_file.is_file() and folder.path.is_dir():  # a run that has not started yet
            run = next((r for r in store.runs() if r.run_dir.resolve() == folder.path.resolve()), None)
            if run is None:
                raise UsageError(f"cannot resume {ref!r}: no run of {store.where} is recorded in that folder (give a "
                                 "run id, a suite-run id or a run directory, and the --db it was recorded in)")
            return cls.open(store, run.id)
        if not folder.options_file.is_file():
            run = store.run(ref)
            if run is None:
                raise UsageError(f"cannot resume {ref!r}: no run matches it in {store.where} (give a run id, a "
                                 "suite-run id or a run directory, and the --db it was recorded in)")
            return cls.open(store, run.id)
        run_id = folder.read_options().get("run_id")
        run = store.run(run_id) if isinstance(run_id, str) and run_id else None
        if run is None or run.id != run_id:
            raise UsageError(f"{folder.options_file}: key 'run_id' is {run_options.show(run_id)}, which names no run "
                             f"in {store.where}; it must hold the id of the run in that folder (or resume by the "
                             "run's id, with the --db it was recorded in)")
        if folder.path.resolve() != run.run_dir.resolve():
            raise UsageError(f"cannot resume {ref!r}: run {run.id} is recorded in the folder {run.run_dir}, not this "
                             "one (a copy?); resume it by its id, or from that folder")
        return cls.open(store, run.id)

    # -- the run's life ----------------------------------------------------------------

    def begin(self, env: dict[str, Any], check: Callable[[dict[str, Any]], str | None] | None = None
              ) -> dict[str, Any] | None:
        """Marks the run running in this process; returns its latest good checkpoint (None:
        from the start), with the evaluation log cut back to it so nothing is logged twice.
        A checkpoint that cannot be loaded, or that ``check`` finds wrong, is set aside
        with a warning, and the run resumes from the one before it (training is
        deterministic from any checkpoint, so the result is the same)."""
        checkpoint, good, damaged = None, None, []
        for path in self.dir.checkpoint_files():
            try:
                state = self.dir.load_checkpoint(path)
                problem = check(state) if check is not None else None
                problem = problem and f"checkpoint {path}: {problem}"
            except UsageError as exc:
                problem = str(exc)
            if problem is None:
                checkpoint, good = state, path
                break
            damaged.append((path, problem))
        images = checkpoint["trainer"]["images_seen"] if checkpoint else -1
        lines, stats_damage = self.dir.trimmed_stats(images, lambda: [
            {**e.values, "images_seen": e.images_seen} for e in self.store.evaluations(self.run_id)])
        then = f"resuming from {good.name}" if good else f"no good checkpoint left: run {self.run_id} starts over"
        for path, problem in damaged:
            _warn(f"{problem}; set aside as {self.dir.set_aside(path).name}; {then}")
        self.dir.write_stats(lines)
        if stats_damage:
            _warn(f"{stats_damage}; rewrote {self.dir.stats_file.name} from the evaluations in {self.store.where}")
        self.store.start_run(self.run_id, env, ProcessId.current())
        return checkpoint

    def start(self, config: dict[str, Any]) -> None:
        """Writes ``options.json`` with the config as the generator resolved it ("auto"
        values filled in), unless an earlier session of the run already did."""
        if not self._options_written:
            self.options = {**self.options, "config": config}
            self._write_options()

    def evaluation(self, record: dict[str, Any]) -> None:
        """One scheduled evaluation: a line of ``stats.jsonl`` and a database row."""
        self.dir.append_stats(record)
        self.store.add_evaluation(self.run_id, record["images_seen"], record["wall_s"], record)

    def checkpoint(self, images_seen: int, state: dict[str, Any]) -> Path:
        return self.dir.save_checkpoint(images_seen, state)

    def finish(self, used: dict[str, Any], metrics: list[MetricValue]) -> None:
        self.store.finish_run(self.run_id, "ok", used, metrics)

    def fail(self, reason: str, used: dict[str, Any], details: str, step: int | None = None) -> None:
        """Records the failure; ``details`` (a traceback) goes to ``error.txt``. The
        database row comes first and the files are best effort: on a full disk the
        failure is still recorded, and this never raises for a file it cannot write."""
        self.store.finish_run(self.run_id, "failed", used, reason=one_line(reason), failed_step=step)
        # The reason is in the database; a full disk cannot take the details as well.
        with contextlib.suppress(OSError):
            if not self._options_written:
                self._write_options()
            self.dir.write_error(details)

    def interrupt(self, used: dict[str, Any]) -> None:
        self.store.finish_run(self.run_id, "interrupted", used,
                              reason=f"interrupted; continue with: genbench run --resume {self.suite_run}")

    def _write_options(self) -> None:
        self.dir.write_options(self.options)
        self._options_written = True
