"""Seeded kill -9 and SIGTERM at random points of a suite: nothing planned is lost, no
run is left running, and every suite finishes on --resume with the leaderboard of an
uninterrupted suite. More trials: ``python -m tests.faults.kill_trials --trials 50``."""

from __future__ import annotations

import os

import pytest

from tests.faults.kill_trials import PLANNED, run_trials

TRIALS = int(os.environ.get("GENBENCH_KILL_TRIALS", "10"))


@pytest.mark.long
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_kill_trials(tmp_path):
    trials = run_trials(TRIALS, tmp_path)
    for t in trials:
        assert t.planned in (0, PLANNED), t  # recorded whole, or not at all
        assert t.left_running == 0, t
        assert t.resume_code == 0 or (t.recorded and t.unfinished_after == 0), t
        assert t.unfinished_after == 0, t
        assert t.same_leaderboard, t
