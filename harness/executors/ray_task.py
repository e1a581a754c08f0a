"""The function each Ray task runs: one job, in the Ray worker process itself, so that
when that process dies (its node lost, kill -9) Ray retries the task, and the retry
resumes the entry from its last checkpoint (the dead process's run reads as
interrupted)."""

from __future__ import annotations

from harness.api.executing import Job, RunOutcome, execute_in_process


def run_job(job: Job) -> list[RunOutcome]:
    from harness.errors import one_line_warnings

    one_line_warnings()  # a warning reaches the driver's stderr as one genbench line
    return execute_in_process(job)
