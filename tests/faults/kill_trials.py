"""Seeded kill trials: a smoke-sized suite is killed (SIGKILL or SIGTERM) at a random
moment, then resumed; what was recorded is checked after the kill and after the resume.

    python -m tests.faults.kill_trials --trials 50 [--workdir DIR]

prints the figures docs/reliability.md quotes; tests/faults/test_kill_trials.py runs a
few trials in ``make test``."""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.records import ResultsStore
from tests.helpers import GENBENCH

SUITE = """name = "killable"
budget = "k"
seeds = [0]

[budgets.k]
images = 768
wall_clock_s = 600
eval_every = 128
n_samples = 32

[[entry]]
generator = "clock"
dataset = "clocks"

[[entry]]
generator = "gaussian"
dataset = "clocks"
"""
PLANNED = 2


@dataclass
class Trial:
    seed: int
    signal: str
    after_s: float
    recorded: bool  # the suite run was recorded before the kill
    planned: int  # runs recorded for it (all or none: PLANNED or 0)
    left_running: int  # runs still "running" once the killed processes are gone
    resume_code: int | None
    unfinished_after: int  # runs not ok/failed after the resume
    same_leaderboard: bool


def quality(db: Path, suite_run: str | None = None) -> dict[tuple[str, int, str], float | None]:
    """Every non-timing metric of a suite run (the latest if none is named), by (generator, seed, metric)."""
    store = ResultsStore(db)
    record = store.suite_run(suite_run) if suite_run else store.latest_suite_run()
    out = {(r.generator, r.seed, m.name): m.value for r in store.runs(suite_run=record.id)
           for m in store.metrics(r.id) if m.kind != "timing"}
    store.close()
    return out


def _run(args: list[str], out: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*GENBENCH, "run", *args, "--out", str(out), "--no-report", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)


def reference(work: Path) -> tuple[dict, float]:
    """The suite run once, uninterrupted: its metrics and how long it took."""
    suite = work / "killable.toml"
    suite.write_text(SUITE)
    started = time.monotonic()
    code = _run(["--suite", str(suite)], work / "reference").wait()
    assert code == 0, f"the reference suite failed ({code})"
    return quality(work / "reference" / "genbench.sqlite"), time.monotonic() - started


def _settled(store: ResultsStore, suite_run: str, timeout: float = 60) -> int:
    """Runs still recorded as running once the workers of the killed run have ended."""
    deadline = time.monotonic() + timeout
    while True:
        running = sum(r.status == "running" for r in store.runs(suite_run=suite_run))
        if running == 0 or time.monotonic() > deadline:
            return running
        time.sleep(0.2)


def trial(seed: int, work: Path, expected: dict, duration: float) -> Trial:
    rng = random.Random(seed)
    signum = rng.choice([signal.SIGKILL, signal.SIGTERM])
    after = rng.uniform(0.2, duration)
    out = work / f"trial-{seed}"
    proc = _run(["--suite", str(work / "killable.toml")], out, start_new_session=True)
    time.sleep(after)
    proc.send_signal(signum)
    proc.wait()
    db = out / "genbench.sqlite"
    store = ResultsStore(db) if db.exists() else None
    record = store.latest_suite_run() if store else None
    if record is None:  # killed before the suite was recorded: nothing to lose, run it again
        code = _run(["--suite", str(work / "killable.toml")], out).wait()
        return Trial(seed, signum.name, after, False, 0, 0, code, 0, quality(db) == expected)
    planned = len(store.runs(suite_run=record.id))
    running = _settled(store, record.id)
    code = _run(["--resume", record.id], out).wait()
    unfinished = sum(not r.done for r in store.runs(suite_run=record.id))
    store.close()
    return Trial(seed, signum.name, after, True, planned, running, code, unfinished,
                 quality(db, record.id) == expected)


def run_trials(n: int, work: Path, first_seed: int = 0) -> list[Trial]:
    expected, duration = reference(work)
    return [trial(seed, work, expected, duration) for seed in range(first_seed, first_seed + n)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="genbench-kill-"))
    os.makedirs(work, exist_ok=True)
    trials = run_trials(args.trials, work)
    for t in trials:
        print(t)
    recorded = [t for t in trials if t.recorded]
    print(f"{len(trials)} trials ({sum(t.signal == 'SIGKILL' for t in trials)} SIGKILL, "
          f"{sum(t.signal == 'SIGTERM' for t in trials)} SIGTERM); suite recorded before the kill in {len(recorded)}")
    print(f"planned entries lost: {sum(PLANNED - t.planned for t in recorded)} of {PLANNED * len(recorded)}")
    print(f"runs left running after the kill: {sum(t.left_running for t in trials)}")
    print(f"resumes that exited non-zero: {sum(t.resume_code not in (0, None) for t in trials)}")
    print(f"runs unfinished after the resume: {sum(t.unfinished_after for t in trials)}")
    same = sum(t.same_leaderboard for t in trials)
    print(f"leaderboards identical to the uninterrupted suite: {same} of {len(trials)}")


if __name__ == "__main__":
    main()
