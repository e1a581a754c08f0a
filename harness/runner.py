"""Runs a suite. The whole suite is planned and recorded first (every run ``pending``,
in one transaction); then its executor (``genbench_executors``; by default ``local``)
executes each entry, given as a serializable job, by default in a worker process of its
own (``harness.supervisor``) so that nothing a plugin does can stop the suite or decide
its exit code. When the executor returns, any entry it left unfinished is recorded as
failed, naming the executor; the suite run is marked finished when its last entry
ends. An interrupted suite resumes whole: pending entries run, interrupted ones
continue from their checkpoints, finished ones are kept."""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch

from harness import env
from harness.api.executing import Executor, Job
from harness.entry_log import EntryLog
from harness.errors import UsageError, one_line, shorten
from harness.execution import Entry, EntryExecutor, RunOutcome
from harness.executors import resources
from harness.executors.context import RunnerContext
from harness.executors.local import LocalExecutor
from harness.executors.lost import record_lost
from harness.plans import RunPlan
from harness.plugins import Host
from harness.records import ResultsStore, Run, RunRecorder, check_writable
from harness.suites import Suite

if TYPE_CHECKING:  # the supervisor is imported only when entries run isolated
    from harness.supervisor import Supervisor

Isolation = Literal["process", "none"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise UsageError(f"unknown device {name!r}; expected cpu, cuda, cuda:N or auto")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device {name!r} requested but no CUDA GPU is available; use --device cpu")
    return torch.device(name)


def entries_of(runs: list[Run]) -> list[Entry]:
    """A suite run's entries: each run that trains, with the variants evaluated on its model."""
    variants: dict[str, list[str]] = {}
    for run in runs:
        if run.options.get("trained_in"):
            variants.setdefault(run.options["trained_in"], []).append(run.id)
    return [Entry(r.id, tuple(variants.get(r.id, ()))) for r in runs if not r.options.get("trained_in")]


class SuiteRunner:
    """``executor``: where entries run (default: the local executor, one at a time, in
    this process or, with ``isolation="process"``, in worker processes), named
    ``executor_name`` in the reasons of the entries it loses."""

    def __init__(self, host: Host, store: ResultsStore, out_root: Path, device: torch.device,
                 show_progress: bool | None = None, tensorboard: Path | None = None,
                 isolation: Isolation = "none", log: EntryLog | None = None,
                 executor: Executor | None = None, executor_name: str = "local") -> None:
        self.host, self.store, self.out_root, self.device = host, store, out_root, device
        self.show_progress, self.tensorboard, self.isolation = show_progress, tensorboard, isolation
        self.log = log
        self.executor = executor or LocalExecutor([{}])
        self.executor_name = executor_name
        self._in_process: EntryExecutor | None = None
        self._workers: Supervisor | None = None

    def run_suite(self, suite: Suite, plans: list[RunPlan], label: str | None = None) -> tuple[str, list[RunOutcome]]:
        """Records the suite whole, then runs every entry; returns (suite run id, outcomes)."""
        self.executor.prepare()  # a cluster that cannot be reached stops us before anything is recorded
        suite_run = self.record_plan(suite, plans, label)
        return suite_run, self.finish(suite_run)

    def record_plan(self, suite: Suite, plans: list[RunPlan], label: str | None = None) -> str:
        """Every run of the suite (and of its sampler variants) recorded ``pending``."""
        check_writable(self.out_root)
        suite_run = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        runs = []
        for plan in plans:
            trains = RunRecorder.plan(self.out_root, self._options(plan, suite_run), self._env(plan))
            runs.append(trains)
            for overrides in plan.samplers:
                variant = replace(plan, config={**plan.config, **overrides}, samplers=())
                runs.append(RunRecorder.plan(self.out_root, self._options(variant, suite_run, trained_in=trains["id"]),
                                             self._env(plan)))
        self.store.add_suite_run(suite_run, suite.name, label, suite.budget.name,
                                 {"source": suite.source, "runs": len(runs)},
                                 env.collect(self.device, sorted({p.seed for p in plans})), runs=runs)
        return suite_run

    def resume(self, ref: str) -> tuple[str, list[RunOutcome]]:
        """Finishes a suite run (by its id), or one run (by its id, prefix or folder)."""
        if ref and self.store.suite_run(ref) is not None:
            if all(r.done for r in self.store.runs(suite_run=ref)):
                self.store.finish_suite_run_if_done(ref)
                raise UsageError(f"suite run {ref} already finished; nothing to resume")
            self.executor.prepare()
            return ref, self.finish(ref)
        recorder = RunRecorder.reopen(self.store, ref)  # refuses a run that is running
        runs = self.store.runs(suite_run=recorder.suite_run)
        run = next(r for r in runs if r.id == recorder.run_id)
        trains = run.options.get("trained_in") or run.id
        entries = entries_of(runs)
        k = next(k for k, e in enumerate(entries, 1) if e.run_id == trains)
        self.executor.prepare()
        return recorder.suite_run, self._dispatch([self._job(entries[k - 1], k, len(entries), runs)])

    def finish(self, suite_run: str) -> list[RunOutcome]:
        """Runs the suite run's unfinished entries, then marks it finished if none is left."""
        runs = self.store.runs(suite_run=suite_run)
        for run in runs:
            if run.status == "running":  # alive in another process
                raise UsageError(f"run {run.id} of suite run {suite_run} is running ({run.process.describe()}); "
                                 "it cannot be resumed while it runs")
        for run in runs:  # every unfinished run's folder is checked before any entry runs
            if not run.done:
                RunRecorder.open(self.store, run.id)
        unfinished = {r.id for r in runs if not r.done}
        entries = entries_of(runs)  # numbered in the whole suite run, so a resumed one counts on
        outcomes = self._dispatch([self._job(e, k, len(entries), runs) for k, e in enumerate(entries, 1)
                                   if unfinished & {e.run_id, *e.variants}])
        self.store.finish_suite_run_if_done(suite_run)
        return outcomes

    def _dispatch(self, jobs: list[Job]) -> list[RunOutcome]:
        """Hands ``jobs`` to the executor; then records as failed what it left
        unfinished (with what it raised, where it raised), and returns how the jobs'
        unfinished runs ended, as recorded."""
        waiting = {run_id for job in jobs for run_id in job.run_ids if not self.store.run(run_id).done}
        context = RunnerContext(self.store, self.log, self._execute_here)
        why = None
        try:
            self.executor.run(jobs, context)
        except UsageError:  # bad input a job found (a damaged checkpoint): exit 2, as ever
            raise
        except Exception as exc:  # a plugin's executor that breaks: its entries end recorded, not in a traceback
            why = shorten(one_line(f"it raised {type(exc).__name__}: {exc}"), 400)
        for job in jobs:
            if record_lost(self.store, job, self.executor_name, why):
                context.ended(job)
        if jobs:
            self.store.finish_suite_run_if_done(self.store.run(jobs[0].entry.run_id).suite_run)
        return [self._outcome(run_id) for job in jobs for run_id in job.run_ids if run_id in waiting]

    def _outcome(self, run_id: str) -> RunOutcome:
        run = self.store.run(run_id)
        metrics = {m.name: m.value for m in self.store.metrics(run_id)} if run.status == "ok" else {}
        return RunOutcome(run.id, run.run_dir, run.status, run.reason, metrics)

    def _job(self, entry: Entry, k: int, n: int, runs: list[Run]) -> Job:
        """Entry ``k`` of the ``n`` of its suite run, as an executor is given it."""
        run = next(r for r in runs if r.id == entry.run_id)
        asked = resources.check(run.options.get("resources", {}),
                                f"{self.store.where}: run {run.id}, options key 'resources'")
        location = self.store.location
        return Job(str(location.path.resolve()) if location.is_sqlite else location.for_workers,
                   str(self.out_root.resolve()), str(self.device), entry, k, n, asked,
                   float(run.given.get("wall_clock_s", 0.0)), self.show_progress,
                   None if self.tensorboard is None else str(self.tensorboard.resolve()))

    def _execute_here(self, job: Job) -> list[RunOutcome]:
        """One job as a local suite executes it, one entry at a time."""
        if self.isolation == "none":
            return self._executor().run(job.entry)
        return self._supervisor().run(job.entry, self.store)

    def _supervisor(self) -> Supervisor:
        from harness.supervisor import Supervisor
        from harness.worker import WorkerSpec

        if self._workers is None:
            self._workers = Supervisor(WorkerSpec(self.store.location.for_workers, str(self.out_root),
                                                  str(self.device),
                                                  self.show_progress,
                                                  None if self.tensorboard is None else str(self.tensorboard)))
        return self._workers

    def _executor(self) -> EntryExecutor:
        if self._in_process is None:
            self._in_process = EntryExecutor(self.host, self.store, self.out_root, self.device,
                                             self.show_progress, self.tensorboard)
        return self._in_process

    def _options(self, plan: RunPlan, suite_run: str, **extra: object) -> dict:
        return plan.options(self.device) | {"suite_run": suite_run} | extra

    def _env(self, plan: RunPlan) -> dict:
        return env.collect(self.device, [plan.seed])
