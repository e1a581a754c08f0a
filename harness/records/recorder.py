"""``RunRecorder``: the one owner of a run's record, its folder and its database rows
together. A suite's runs are planned (``plan``: a folder each, recorded ``pending`` with
their suite run in one transaction); the runner then calls ``begin``, ``start``,
``evaluation``, ``checkpoint`` and one of ``finish``, ``fail`` or ``interrupt``. Nothing
else writes a run's files or rows."""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.records.processes import ProcessId
from harness.records.rundir import RunDir
from harness.records.store import ResultsStore
from harness.records.types import MetricValue, Run


def describe_failure(exc: BaseException) -> str:
    """A failure as its reason: a full disk says so plainly, whatever layer raised it,
    and a plugin's ``sys.exit`` is named as such."""
    if isinstance(exc, SystemExit):
        return f"a plugin raised SystemExit({exc.code!r}) (sys.exit in a plugin ends its run, not genbench)"
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc):
        where = f": {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
        return f"no space left on device{where}"
    return f"{type(exc).__name__}: {exc}"


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
    def open(cls, store: ResultsStore, run_id: str) -> RunRecorder:
        """The recorder of a recorded run that is still to finish (pending or interrupted)."""
        run = store.run(run_id)
        if run is None:
            raise UsageError(f"no run {run_id!r} in {store.path}")
        if run.done:
            raise UsageError(f"run {run.id} already finished ({run.status}); nothing to resume")
        if run.status == "running":
            holder = run.process.describe() if run.process else "another process"
            raise UsageError(f"run {run.id} is running ({holder}); it cannot be resumed while it runs")
        folder = RunDir(run.run_dir)
        written = folder.options_file.is_file()
        return cls(store, run, folder.read_options() if written else run.options, written)

    @classmethod
    def reopen(cls, store: ResultsStore, ref: str) -> RunRecorder:
        """An unfinished run to resume, named by its id (or a unique prefix) or its folder."""
        if not ref:
            raise UsageError("--resume needs a run id, a suite-run id or a run directory, got an empty string")
        folder = RunDir(Path(ref))
        run_id = folder.read_options().get("run_id") if folder.options_file.is_file() else ref
        run = store.run(str(run_id))
        if run is None:
            where = "the run in that directory is" if folder.options_file.is_file() else "no run matches it"
            raise UsageError(f"cannot resume {ref!r}: {where} not in {store.path} (give a run id, a suite-run "
                             "id or a run directory, and the --db it was recorded in)")
        return cls.open(store, run.id)

    # -- the run's life ----------------------------------------------------------------

    def begin(self, env: dict[str, Any]) -> dict[str, Any] | None:
        """Marks the run running in this process; returns its latest checkpoint (None:
        from the start), with the evaluation log cut back to it so nothing is logged twice."""
        path = self.dir.latest_checkpoint()
        checkpoint = self.dir.load_checkpoint(path) if path else None
        if checkpoint is not None and not (isinstance(checkpoint, dict) and isinstance(checkpoint.get("trainer"), dict)
                                           and isinstance(checkpoint["trainer"].get("images_seen"), int)):
            raise UsageError(f"{path} is not a genbench checkpoint (no trainer state in it)")
        self.dir.trim_stats(checkpoint["trainer"]["images_seen"] if checkpoint else -1)
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
        self.store.finish_run(self.run_id, "failed", used, reason=reason, failed_step=step)
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
