"""Several writers on one results database at once lose no rows: two `genbench run`
suites side by side, and four processes hammering the store's write path."""

from __future__ import annotations

import multiprocessing
import subprocess

import pytest

from harness.budgets import NAMED
from harness.records import MetricValue, ResultsStore
from harness.records.processes import ProcessId
from tests.helpers import GENBENCH

WRITERS, RUNS_EACH = 4, 30
SUITE = "suite-shared"


def _write_entries(db: str, writer: int) -> None:
    """One host's share of a suite's entries, each written twice as a retried entry
    would write it (started, evaluated, finished again)."""
    store = ResultsStore(db)
    for i in range(RUNS_EACH):
        run_id = f"w{writer}-r{i}"
        for attempt in range(2):
            store.start_run(run_id, {}, ProcessId("host", 1000 + writer, None))
            store.add_evaluation(run_id, 1, 0.1, {f"train/loss{attempt}": 1.0})
            store.add_evaluation(run_id, 2, 0.2, {"train/loss": 0.5})
            store.finish_run(run_id, "ok", {}, [MetricValue("m", float(i), "min", n=1),
                                                MetricValue("k", 1.0, "min", n=1)])
        store.finish_suite_run_if_done(SUITE)
    store.close()


def _count(store: ResultsStore, query: str) -> int:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql(query).scalar_one()


def test_parallel_writers_of_one_suite_lose_nothing_and_duplicate_nothing(store_location):
    """Four processes write the entries of one suite run at once, each entry twice (a
    retry): every row is there once, and the suite run finishes with its last entry."""
    store = ResultsStore(store_location)
    store.add_suite_run(SUITE, "stress", None, "smoke", {"runs": WRITERS * RUNS_EACH}, {}, runs=[
        {"id": f"w{w}-r{i}", "suite_run": SUITE, "generator": "g", "dataset": "d", "budget": "smoke", "seed": i,
         "run_dir": "/nowhere", "options": {}, "given": NAMED["smoke"].as_dict(), "env": {}}
        for w in range(WRITERS) for i in range(RUNS_EACH)])
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_entries, args=(store_location, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
        assert p.exitcode == 0
    total = WRITERS * RUNS_EACH
    assert _count(store, "SELECT COUNT(*) FROM runs WHERE status = 'ok' AND attempts = 2") == total
    assert _count(store, "SELECT COUNT(*) FROM metrics") == 2 * total
    assert _count(store, "SELECT COUNT(*) FROM evaluations") == 2 * total
    assert _count(store, "SELECT COUNT(DISTINCT run_id) FROM evaluations") == total
    assert store.suite_run(SUITE).finished is not None
    first = store.evaluations("w0-r0")[0].values
    assert first == {"train/loss0": 1.0, "train/loss1": 1.0}  # the retry's values merged, not a second row
    store.close()


@pytest.mark.long
def test_two_suites_writing_one_database_at_once(tmp_path):
    db = tmp_path / "shared.sqlite"
    args = ["run", "-g", "gaussian", "-b", "smoke", "--seeds", "3", "--device", "cpu",
            "--db", str(db), "--no-report"]
    procs = [subprocess.Popen([*GENBENCH, *args, "--out", str(tmp_path / f"out{i}"), "--label", f"suite-{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    store = ResultsStore(db)
    suites = store.suite_runs()
    assert sorted(s.label for s in suites) == ["suite-0", "suite-1"]
    for s in suites:
        runs = store.runs(suite_run=s.id)
        assert len(runs) == 3 and all(r.status == "ok" for r in runs)
        assert all(len(store.metrics(r.id)) == len(store.metrics(runs[0].id)) > 5 for r in runs)
