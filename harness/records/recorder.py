"""``RunRecorder``: the one owner of a run's record, its folder and its database rows
together. The runner calls ``start``, ``evaluation``, ``checkpoint`` and one of
``finish``, ``fail`` or ``interrupt``; nothing else writes a run's files or rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.records.rundir import RunDir
from harness.records.store import ResultsStore
from harness.records.types import MetricValue, Run


class RunRecorder:
    """Records one run. ``options`` is what ``options.json`` holds (``RunPlan.options()``
    plus the run's ids); it is written once, by ``start`` (or by ``fail`` when the run
    failed before it could start)."""

    def __init__(self, store: ResultsStore, run_id: str, run_dir: RunDir, options: dict[str, Any],
                 options_written: bool = False) -> None:
        self.store, self.run_id, self.dir, self.options = store, run_id, run_dir, options
        self._options_written = options_written

    @classmethod
    def create(cls, store: ResultsStore, root: Path, options: dict[str, Any], env: dict[str, Any]) -> RunRecorder:
        """A new run: its folder, and its database row as ``running``. ``options`` must
        name its suite, suite run, generator, dataset, budget and seed."""
        run_id, run_dir = RunDir.create(root, options["suite"], options["generator"], options["dataset"])
        options = {**options, "run_id": run_id}
        store.add_run(id=run_id, suite_run=options["suite_run"], generator=options["generator"],
                      dataset=options["dataset"], budget=options["budget"]["name"], seed=options["seed"],
                      run_dir=run_dir.path, options=options, given=options["budget"], env=env)
        return cls(store, run_id, run_dir, options)

    @classmethod
    def reopen(cls, store: ResultsStore, ref: str) -> tuple[RunRecorder, Run]:
        """An unfinished run to resume, named by its id (or a unique prefix) or its folder."""
        if not ref:
            raise UsageError("--resume needs a run id or a run directory, got an empty string")
        folder = RunDir(Path(ref))
        run_id = folder.read_options().get("run_id") if folder.options_file.is_file() else ref
        run = store.run(str(run_id))
        if run is None:
            where = "the run in that directory is" if folder.options_file.is_file() else "no run matches it"
            raise UsageError(f"cannot resume {ref!r}: {where} not in {store.path} (give a run id or a run "
                             "directory, and the --db it was recorded in)")
        if run.status == "ok":
            raise UsageError(f"run {run.id} already finished; nothing to resume")
        folder = RunDir(run.run_dir)
        written = folder.options_file.is_file()
        return cls(store, run.id, folder, folder.read_options() if written else run.options, written), run

    # -- the run's life ----------------------------------------------------------------

    def start(self, config: dict[str, Any]) -> None:
        """Writes ``options.json`` with the config as the generator resolved it ("auto" values filled in)."""
        self.options = {**self.options, "config": config}
        self._write_options()

    def resumed(self, env: dict[str, Any]) -> dict[str, Any] | None:
        """Marks the run running again; returns its latest checkpoint (None: start over),
        with the evaluation log cut back to it so nothing is logged twice."""
        path = self.dir.latest_checkpoint()
        checkpoint = self.dir.load_checkpoint(path) if path else None
        self.dir.trim_stats(checkpoint["trainer"]["images_seen"] if checkpoint else 0)
        self.store.mark_resumed(self.run_id, env)
        return checkpoint

    def evaluation(self, record: dict[str, Any]) -> None:
        """One scheduled evaluation: a line of ``stats.jsonl`` and a database row."""
        self.dir.append_stats(record)
        self.store.add_evaluation(self.run_id, record["images_seen"], record["wall_s"], record)

    def checkpoint(self, images_seen: int, state: dict[str, Any]) -> Path:
        return self.dir.save_checkpoint(images_seen, state)

    def finish(self, used: dict[str, Any], metrics: list[MetricValue]) -> None:
        self.store.finish_run(self.run_id, "ok", used, metrics)

    def fail(self, reason: str, used: dict[str, Any], details: str, step: int | None = None) -> None:
        """Records the failure; ``details`` (a traceback) goes to ``error.txt``."""
        if not self._options_written:
            self._write_options()
        self.dir.write_error(details)
        self.store.finish_run(self.run_id, "failed", used, reason=reason, failed_step=step)

    def interrupt(self, used: dict[str, Any]) -> None:
        if not self._options_written:
            self._write_options()
        self.store.finish_run(self.run_id, "interrupted", used,
                              reason=f"interrupted; continue with: genbench run --resume {self.run_id}")

    def _write_options(self) -> None:
        self.dir.write_options(self.options)
        self._options_written = True
