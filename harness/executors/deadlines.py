"""What a driver that cannot watch its entries' processes (the Ray executor's) learns of
them from the store: when an entry starts running, in which process, whether that
process went away (a retry comes next), and when it has run past its allowance."""

from __future__ import annotations

from dataclasses import dataclass

from harness.api.executing import Job
from harness.records import Run
from harness.records.processes import ProcessId


def allowance_s(wall_clock_s: float, variants: int, grace_s: float) -> float:
    """How long an entry may run, from when the store shows it running: each of its
    phases may take the budget's wall clock plus the grace, as under a local supervisor
    (building, training and evaluating; then building and evaluating per sampler
    variant)."""
    return (3 + 2 * variants) * (wall_clock_s + grace_s)


@dataclass
class Watch:
    """One job as the store shows it. ``update`` says what changed: ``started`` (first
    seen running), ``gone`` (its process is gone and the run not finished: a retry
    may follow), ``restarted`` (running again, in another process)."""

    job: Job
    allowance_s: float
    process: ProcessId | None = None
    since: float | None = None
    seen: bool = False
    #: Why the driver cancelled its task, once it has.
    cancelled: str | None = None

    def update(self, runs: list[Run], now: float) -> str | None:
        running = next((r.process for r in runs if r.status == "running" and r.process is not None), None)
        if running is not None:
            if running == self.process:
                return None
            event = "restarted" if self.seen else "started"
            self.process, self.since, self.seen = running, now, True
            return event
        if self.process is not None and any(r.status == "interrupted" for r in runs):
            self.process = self.since = None
            return "gone"
        return None

    def overdue(self, now: float) -> float | None:
        """Seconds it has been running in its current process, when past its allowance."""
        if self.since is None or self.cancelled is not None:
            return None
        elapsed = now - self.since
        return elapsed if elapsed > self.allowance_s else None
