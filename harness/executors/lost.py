"""Runs an executor did not finish, recorded as failed: the contract's backstop. A job
whose runs are still pending, or interrupted (stopped, or left ``running`` by a process
that is gone), when its executor is done with it, failed, with a reason naming the
executor and the entry."""

from __future__ import annotations

from harness.api.executing import Job
from harness.records import ResultsStore, Run, RunRecorder

# Statuses an executor may leave behind and a failure record replaces. A run "running"
# in a live process is left alone: that process records how it ends.
LEFT_BEHIND = ("pending", "interrupted")


def what_happened(run: Run) -> str:
    """Why a run left behind did not finish, in a few words."""
    if run.status == "pending":
        return "it never started"
    if run.process is not None:
        return f"its process ({run.process.describe()}) ended before the run did"
    return "it was interrupted"


def _left_behind(store: ResultsStore, job: Job) -> list[Run]:
    """The runs of ``job`` its executor left unfinished, in the job's order."""
    return [run for run_id in job.run_ids if (run := store.run(run_id)) is not None and run.status in LEFT_BEHIND]


def record_failed(store: ResultsStore, job: Job, reason: str, runs: list[Run] | None = None) -> list[str]:
    """Records each run of ``job`` left behind (``runs``, where the caller has read them)
    as failed with ``reason``; returns the ids of the runs it recorded."""
    runs = _left_behind(store, job) if runs is None else runs
    for run in runs:
        RunRecorder.open(store, run.id, check=False).fail(reason, run.used, reason)
    return [run.id for run in runs]


def record_lost(store: ResultsStore, job: Job, executor: str, why: str | None = None) -> list[str]:
    """Records each run of ``job`` left behind as failed: ``the EXECUTOR executor lost
    entry k/n: WHY`` (default: what happened to the entry's first run left behind).
    Returns the ids of the runs it recorded."""
    runs = _left_behind(store, job)
    if not runs:
        return []
    return record_failed(store, job, f"the {executor} executor lost entry {job.k}/{job.n}: "
                                     f"{why or what_happened(runs[0])}", runs)
