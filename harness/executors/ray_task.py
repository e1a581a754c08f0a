"""The function each Ray task runs: one job, in the Ray worker process itself, so that
when that process dies (its node lost, kill -9) Ray retries the task, and the retry
resumes the entry from its last checkpoint (the dead process's run reads as
interrupted)."""

from __future__ import annotations

from harness.api.executing import Job, RunOutcome, execute_in_process
from harness.executors.ray_stop import StopWatch


def run_job(job: Job, stop_file: str) -> list[RunOutcome]:
    """Executes ``job`` unless the driver has asked its tasks to stop (``stop_file``
    exists): then the entry is interrupted, its run recorded interrupted, and the task
    returns what was recorded (nothing, where it had not started)."""
    from harness.errors import one_line_warnings

    one_line_warnings()  # a warning reaches the driver's stderr as one genbench line
    stop = StopWatch(stop_file)
    if stop.requested():  # queued when the driver was stopped: its runs stay pending
        return []
    try:
        with stop.watching():
            return execute_in_process(job)
    except KeyboardInterrupt:
        if not stop.fired:
            raise
        return []  # asked for: an ordinary return, so Ray neither retries it nor treats it as cancelled
