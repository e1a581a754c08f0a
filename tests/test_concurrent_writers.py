"""Several writers on one results database at once lose no rows: two `genbench run`
suites side by side, and four processes hammering the store's write path."""

from __future__ import annotations

import multiprocessing
import subprocess

from harness.budgets import NAMED
from harness.records import MetricValue, ResultsStore
from tests.helpers import GENBENCH

WRITERS, RECORDS = 4, 40


def _write_records(db: str, writer: int) -> None:
    store = ResultsStore(db)
    store.add_suite_run(f"suite-{writer}", "stress", f"writer-{writer}", "smoke", {}, {})
    for i in range(RECORDS):
        run_id = f"w{writer}-r{i}"
        store.add_run(id=run_id, suite_run=f"suite-{writer}", generator="g", dataset="d", budget="smoke", seed=i,
                      run_dir="/x", options={}, given=NAMED["smoke"].as_dict(), env={})
        store.add_evaluation(run_id, 1, 0.1, {"train/loss": 1.0})
        store.finish_run(run_id, "ok", {}, [MetricValue("m", float(i), "min", n=1)])
    store.finish_suite_run(f"suite-{writer}")
    store.close()


def test_parallel_store_writers_lose_nothing(tmp_path):
    db = str(tmp_path / "genbench.sqlite")
    ResultsStore(db).close()  # created once, as a suite's first write would
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_records, args=(db, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    store = ResultsStore(db)
    count = lambda q: store.db.execute(q).fetchone()[0]  # noqa: E731
    assert count("SELECT COUNT(*) FROM suite_runs WHERE finished IS NOT NULL") == WRITERS
    assert count("SELECT COUNT(*) FROM runs WHERE status = 'ok'") == WRITERS * RECORDS
    assert count("SELECT COUNT(*) FROM metrics") == WRITERS * RECORDS
    assert count("SELECT COUNT(*) FROM evaluations") == WRITERS * RECORDS


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
