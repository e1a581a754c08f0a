"""The runner's side of an executor's work: the entry lines as jobs start and end,
the suite run marked finished when its last entry ends, and a job executed as a local
suite executes it (``ExecutorContext.execute_here``)."""

from __future__ import annotations

from collections.abc import Callable

from harness.api.executing import Job, RunOutcome
from harness.entry_log import EntryLog
from harness.records import ResultsStore


class RunnerContext:
    """An :class:`harness.api.ExecutorContext` over the runner's store and entry log;
    ``here`` executes a job in this process's own way."""

    def __init__(self, store: ResultsStore, log: EntryLog | None, here: Callable[[Job], list[RunOutcome]]) -> None:
        self.store, self.log, self._here = store, log, here

    def started(self, job: Job) -> None:
        if self.log is not None:
            self.log.started(job.k, job.n, self.store.run(job.entry.run_id))

    def ended(self, job: Job) -> None:
        self.store.finish_suite_run_if_done(self.store.run(job.entry.run_id).suite_run)
        if self.log is not None:
            self.log.ended(job.k, job.n, list(job.run_ids))

    def note(self, job: Job, text: str) -> None:
        if self.log is not None:
            self.log.note(job.k, job.n, self.store.run(job.entry.run_id), text)

    def execute_here(self, job: Job) -> list[RunOutcome]:
        return self._here(job)
