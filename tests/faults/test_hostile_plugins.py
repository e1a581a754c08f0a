"""Every kind of hostile plugin is recorded as failed, with a reason naming what it did,
and the suite goes on to its last entry; no plugin can change genbench's exit code."""

from __future__ import annotations

import sqlite3

import pytest

from harness.records import ResultsStore
from tests.faults import hostile
from tests.helpers import genbench


@pytest.fixture(scope="module")
def hostile_suite(tmp_path_factory):
    """One isolated suite run over every case (the workers are the slow part: share them)."""
    root = tmp_path_factory.mktemp("hostile")
    plugin = hostile.install(root / "plugin")
    suite = hostile.suite(root / "hostile.toml", list(hostile.CASES))
    done = genbench("run", "--suite", suite, "--out", root / "runs", "--no-report", pythonpath=plugin,
                    env={"GENBENCH_GRACE_S": "10"}, timeout=900)
    return done, ResultsStore(root / "runs" / "genbench.sqlite")


def test_the_suite_goes_on_and_exits_1(hostile_suite):
    done, store = hostile_suite
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (suite_run,) = store.suite_runs()
    assert suite_run.finished is not None
    runs = store.runs(suite_run=suite_run.id)
    assert len(runs) == len(hostile.CASES) + 1
    assert runs[-1].options["config"]["do"] == "nothing" and runs[-1].status == "ok"
    assert "| hostile | clocks |" in done.stdout  # the leaderboard still prints


@pytest.mark.parametrize("case", list(hostile.CASES))
def test_each_misbehaviour_is_recorded_with_its_reason(hostile_suite, case):
    _, store = hostile_suite
    (run,) = [r for r in store.runs() if r.options["config"]["do"] == case]
    assert run.status == "failed" and hostile.CASES[case] in run.reason, run.reason
    assert not store.metrics(run.id)  # no number from a run that misbehaved


def test_in_process_a_sys_exit_is_a_failed_run_not_a_success(tmp_path):
    plugin = hostile.install(tmp_path / "plugin")
    suite = hostile.suite(tmp_path / "s.toml", ["system_exit", "times_100"])
    done = genbench("run", "--suite", suite, "--out", tmp_path / "runs", "--isolation", "none", "--no-report",
                    pythonpath=plugin)
    assert done.returncode == 1, done.stderr
    con = sqlite3.connect(tmp_path / "runs" / "genbench.sqlite")
    statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started")]
    assert statuses == ["failed", "failed", "ok"]
