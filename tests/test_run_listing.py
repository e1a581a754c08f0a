"""What a suite says as it goes and when it ends, and what ``genbench runs`` lists: the
per-entry lines, the closing summary and the database's runs."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import torch
from helpers import TinyPlugin, genbench, run_suite, tiny_suite

from harness import closing_summary
from harness.entry_log import EntryLog
from harness.leaderboard import Column, Leaderboard
from harness.plans import plan_suite
from harness.plugins import Host
from harness.records import ResultsStore, RunRecorder
from harness.runner import SuiteRunner


def _runner(tmp_path: Path, log: io.StringIO) -> SuiteRunner:
    store = ResultsStore(tmp_path / "genbench.sqlite")
    host = Host(plugins=[("tiny", TinyPlugin())])
    return SuiteRunner(host, store, tmp_path, torch.device("cpu"), show_progress=False, log=EntryLog(store, log))


def test_a_line_per_entry_as_it_starts_and_ends(tmp_path):
    log = io.StringIO()
    runner = _runner(tmp_path, log)
    suite = tiny_suite({}, {"fail_at": 2})
    runner.run_suite(suite, plan_suite(runner.host, suite))
    lines = log.getvalue().splitlines()
    assert lines[0] == "genbench: [1/2] tiny · clocks · seed 0: started"
    assert re.fullmatch(r"genbench: \[1/2\] tiny · clocks · seed 0: ok · 512/512 img \(100%\) · \d+\.\d s · "
                        r"fd-clocknet [\d.,]+", lines[1]), lines[1]
    assert lines[2] == "genbench: [2/2] tiny · clocks · seed 0: started"
    assert re.fullmatch(r"genbench: \[2/2\] tiny · clocks · seed 0: failed: RuntimeError: planted failure"
                        r" · \d+/512 img \([\d.]+%\) · \d+\.\d s", lines[3]), lines[3]
    assert len(lines) == 4


def test_a_resumed_suite_numbers_its_entries_in_the_whole_suite(tmp_path):
    log = io.StringIO()
    runner = _runner(tmp_path, log)
    suite = tiny_suite({}, {}, {})
    suite_run = runner.record_plan(suite, plan_suite(runner.host, suite))
    first = runner.store.runs(suite_run=suite_run)[0]
    RunRecorder.open(runner.store, first.id).fail("done elsewhere", {}, "done elsewhere")
    runner.finish(suite_run)
    started = [line for line in log.getvalue().splitlines() if line.endswith(": started")]
    assert [line.split("]")[0] for line in started] == ["genbench: [2/3", "genbench: [3/3"]


def test_a_terminal_line_is_cut_to_the_width_not_wrapped(tmp_path):
    log = io.StringIO()
    store = ResultsStore(tmp_path / "genbench.sqlite")
    EntryLog(store, log, width=30)._write("x" * 100)
    EntryLog(store, log, width=30)._write("宽" * 20)  # two cells each
    EntryLog(store, log)._write("boom \x1b[31mRED\x1b[0m line1\nline2")  # a plugin's failure reason
    assert log.getvalue().splitlines() == ["genbench: " + "x" * 19 + "…", "genbench: " + "宽" * 9 + " …",
                                           "genbench: boom [31mRED [0m line1 line2"]


def _board(rows: list[dict]) -> Leaderboard:
    columns = [Column("generator", "generator"), Column("dataset", "dataset"), Column("seed", "seed"),
               Column("fd-clocknet", "fd-clocknet ↓", "min"), Column("status", "status")]
    return Leaderboard("quick · budget quick · S", columns, rows, [], "fd-clocknet")


def _row(run: str, generator: str, fd: float | None, status: str = "ok") -> dict:
    return {"run": run, "generator": generator, "dataset": "clocks", "seed": 0, "fd-clocknet": fd,
            "status": status, "flags": []}


def test_the_summary_names_the_best_row_and_the_rows_behind_the_baseline(tmp_path):
    rows = [_row("t", "train-copy", 0.3), _row("a", "clock", 20.0), _row("g", "gaussian", 30.0),
            _row("b", "upgan", 280.0), _row("c", "ddpm", None, "failed: NaN loss")]
    runs = [SimpleNamespace(id=r, used={"steps": 0 if r in "tg" else 10}, status=s)
            for r, s in (("t", "ok"), ("a", "ok"), ("g", "ok"), ("b", "ok"), ("c", "failed"))]
    where = closing_summary.Where([tmp_path / "leaderboard-quick.md", tmp_path / "leaderboard-quick.csv"],
                                  tmp_path / "genbench.sqlite", tmp_path / "report-quick.html")
    text = closing_summary.lines(_board(rows), runs, where, "quick", "S", ["--suite", "quick", "--out", "x"])
    assert text[0] == "genbench: 4 of 5 run(s) ok"
    assert "  best trained: clock on clocks, seed 0: fd-clocknet 20 ↓" in text  # not the train-copy baseline
    assert ("  1 of 3 trained rows ahead of the gaussian baseline (30); not ahead: upgan on clocks, seed 0, "
            "ddpm on clocks, seed 0") in text
    assert f"  leaderboard  {tmp_path / 'leaderboard-quick'}.{{md,csv}}" in text
    assert "  re-run with 3 seeds   genbench run --suite quick --out x --seeds 3 --label quick-seeds3" in text
    assert "  compare with this run genbench compare S quick-seeds3 --out x" in text
    assert any(line.startswith("  open the report       python -m webbrowser file://") for line in text)


def test_without_a_baseline_or_a_report_the_summary_says_less():
    where = closing_summary.Where([Path("out/l.md")], Path("out/db"), None)
    runs = [SimpleNamespace(id="a", used={}, status="ok")]
    text = closing_summary.lines(_board([_row("a", "clock", 20.0)]), runs, where, "s", "S", [])
    assert not any("baseline" in line or "report" in line for line in text)
    assert "  leaderboard  out/l.md" in text


def test_each_dataset_gets_its_best_row_by_its_own_metric():
    columns = [Column("generator", "generator"), Column("dataset", "dataset"), Column("seed", "seed"),
               Column("fd-clocknet", "fd-clocknet ↓", "min"), Column("fid", "fid ↓", "min"),
               Column("status", "status")]
    rows = [_row("a", "clock", 20.0), {**_row("b", "dcgan", None), "dataset": "cifar10", "fid": 40.0}]
    board = Leaderboard("t", columns, rows, [], "fd-clocknet", {"clocks": "fd-clocknet", "cifar10": "fid"})
    runs = [SimpleNamespace(id=r, used={"steps": 10}, status="ok") for r in "ab"]
    text = closing_summary.lines(board, runs, closing_summary.Where([Path("l.md")], Path("db"), None), "s", "S", [])
    assert "  best trained: clock on clocks, seed 0: fd-clocknet 20 ↓" in text
    assert "  best trained: dcgan on cifar10, seed 0: fid 40 ↓" in text


def test_runs_lists_suite_runs_and_the_runs_of_one(run_cli, tmp_path):
    store, suite_run, _ = run_suite(tmp_path, tiny_suite({}, {"fail_at": 1}))
    db = str(store.path)
    code, out, _ = run_cli("runs", "--db", db)
    assert code == 0
    assert re.search(rf"^{suite_run}\s+t\s+-\s+smoke\s+finished\s+2\s+1 failed, 1 ok\s+\d{{4}}-", out, re.M), out
    code, out, _ = run_cli("runs", "--db", db, "--json")
    (listed,) = json.loads(out)
    assert listed["id"] == suite_run and listed["statuses"] == {"failed": 1, "ok": 1} and listed["wall_s"] >= 0
    for ref in (suite_run, "t"):  # a suite-run id, or a suite name: its latest suite run
        code, out, _ = run_cli("runs", ref, "--db", db, "--json")
        assert code == 0 and [(r["status"], r["attempts"]) for r in json.loads(out)] == [("ok", 1), ("failed", 1)]
    code, out, _ = run_cli("runs", suite_run, "--db", db)
    assert re.search(r"tiny\s+clocks\s+0\s+smoke\s+ok\s+1\s+512/512 img \(100%\)", out), out


def test_runs_says_what_is_wrong_with_its_input(run_cli, tmp_path):
    code, _, err = run_cli("runs", "--db", tmp_path / "missing.sqlite")
    assert code == 2 and "no results database" in err
    ResultsStore(tmp_path / "empty.sqlite").close()
    code, out, err = run_cli("runs", "--db", tmp_path / "empty.sqlite")
    assert code == 0 and out == "" and "no suite runs in" in err
    code, _, err = run_cli("runs", "nothing-like-this", "--db", tmp_path / "empty.sqlite")
    assert code == 2 and "matches no run, suite run or label" in err
    proc = genbench("runs", "--limit", "0", "--db", tmp_path / "empty.sqlite")
    assert proc.returncode == 2 and "--limit: expected a number >= 1" in proc.stderr
