"""Fuzzing a run folder on ``genbench run --resume`` (issue 14): a real clock run with two
checkpoints, recorded as interrupted, then damaged: options.json (a random JSON value for
a key or a budget key, a key removed or added, garbage bytes, cut short, a folder in its
place), a checkpoint (cut short, bytes flipped, garbage, a folder, removed) and
stats.jsonl (cut short, bytes flipped, a garbage line, removed); resumed by run id, id
prefix, suite-run id or folder. The contract (``contract.check``): exit 0, 1 or 2, never
a traceback; on exit 2 one line naming the damaged file and nothing recorded; a damaged
options.json is never resumed from (exit 2). And on exit 0 the resumed run's metrics are
the uninterrupted run's: a damaged checkpoint or log is set aside or rebuilt, never a
silently different result."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import pytest
from contract import check, genbench, recorded
from hypothesis import given, note, settings
from hypothesis import strategies as st

from harness.records import ResultsStore, RunDir
from harness.records.processes import ProcessId

TARGET = "run folder"
BUDGET = "images = 384\nwall_clock_s = 600\neval_every = 128\nn_samples = 16\n"
GONE = ProcessId("a-host-that-is-gone", 1, None)


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> dict:
    """A real clock run (checkpoints at 256 and 384 images), recorded as interrupted, and what it measured."""
    base = tmp_path_factory.mktemp("golden")
    budget = base / "tiny.toml"
    budget.write_text(BUDGET)
    root = base / "runs"
    done = genbench("run", "-g", "clock", "-b", budget, "--isolation", "none", "--no-report", "--no-progress",
                    "--device", "cpu", "--out", root)
    assert done.code == 0, done.err
    store = ResultsStore(root / "genbench.sqlite")
    (run,) = store.runs()
    metrics = {m.name: m.value for m in store.metrics(run.id) if m.kind != "timing"}
    store.start_run(run.id, {}, GONE)
    store.close()
    with sqlite3.connect(root / "genbench.sqlite") as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = run.run_dir
    return {"root": root, "run": run, "metrics": metrics, "options": json.loads((folder / "options.json").read_text()),
            "logged": sorted({r["images_seen"] for r in RunDir(folder).stats()})}


def _copy(golden: dict, dst: Path) -> tuple[Path, Path]:
    """A copy of the golden root whose database names the copied folder; (root, run folder)."""
    src = golden["root"]
    shutil.copytree(src, dst)
    with sqlite3.connect(dst / "genbench.sqlite") as con:
        con.execute("UPDATE runs SET run_dir = replace(run_dir, ?, ?)", (str(src), str(dst)))
    return dst, dst / golden["run"].run_dir.name


def _json() -> st.SearchStrategy:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12))
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                                           inner, max_size=3),
                        max_leaves=6)


def _same(a: object, b: object) -> bool:
    """Equal as JSON values (1 and 1.0 are one number; true is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b
    return type(a) is type(b) and a == b


def _damage_options(draw: st.DrawFn, path: Path, golden: dict) -> tuple[str, bool]:
    options = json.loads(path.read_text())
    kind = draw(st.sampled_from(["value", "budget value", "remove", "remove from budget", "add", "add to budget",
                                 "garbage", "cut", "folder"]))
    if kind in ("value", "budget value"):
        table = options if kind == "value" else options["budget"]
        key = draw(st.sampled_from(sorted(table)))
        old, table[key] = table[key], draw(_json())
        bad, what = not _same(old, table[key]), f"{key} = {table[key]!r}"
    elif kind in ("remove", "remove from budget"):
        table = options if kind == "remove" else options["budget"]
        key = draw(st.sampled_from(sorted(table)))
        del table[key]
        bad, what = key != "description", key  # a budget's description may be left out
    elif kind in ("add", "add to budget"):
        table = options if kind == "add" else options["budget"]
        key = draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in table))
        table[key] = draw(_json())
        bad, what = kind == "add to budget", key  # an unknown key of the run is never read
    if kind == "garbage":
        path.write_bytes(draw(st.binary(max_size=64)))
        return kind, True
    if kind == "cut":
        raw = path.read_bytes()
        path.write_bytes(raw[:draw(st.integers(0, len(raw) - 2))])
        return kind, True
    if kind == "folder":
        path.unlink()
        path.mkdir()
        return kind, True
    path.write_text(json.dumps(options))
    return f"options {kind}: {what}", bad


def _damage_file(draw: st.DrawFn, path: Path) -> str:
    kind = draw(st.sampled_from(["cut", "flip", "garbage", "garbage line", "folder", "remove"]))
    raw = path.read_bytes()
    if kind == "cut":
        path.write_bytes(raw[:draw(st.integers(0, len(raw) - 1))])
    elif kind == "flip":
        out = bytearray(raw)
        for pos in draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=4, unique=True)):
            out[pos] ^= 1 << draw(st.integers(0, 7))
        path.write_bytes(bytes(out))
    elif kind == "garbage":
        path.write_bytes(draw(st.binary(min_size=1, max_size=64)))
    elif kind == "garbage line":
        lines = raw.split(b"\n")
        at = draw(st.integers(0, len(lines)))
        path.write_bytes(b"\n".join([*lines[:at], draw(st.binary(min_size=1, max_size=24)), *lines[at:]]))
    elif kind == "folder":
        path.unlink()
        path.mkdir()
    else:
        path.unlink()
    return f"{path.name} {kind}"


def _reference(draw: st.DrawFn, golden: dict, folder: Path) -> str:
    run = golden["run"]
    return draw(st.sampled_from([run.id, run.id[:7], run.suite_run, str(folder)]))


def test_damaged_run_folders_on_resume(fuzz_settings, tmp_path_factory, golden):
    @settings(parent=fuzz_settings)
    @given(st.data())
    def one(data):
        root, folder = _copy(golden, tmp_path_factory.mktemp("resume") / "runs")
        target = data.draw(st.sampled_from(["options", "checkpoint", "stats"]), label="target")
        if target == "options":
            damaged = folder / "options.json"
            what, bad = _damage_options(data.draw, damaged, golden)
        else:
            files = sorted((folder / "checkpoints").glob("ckpt-*.pt")) if target == "checkpoint" else [
                folder / "stats.jsonl"]
            damaged = data.draw(st.sampled_from(files), label="file")
            what, bad = _damage_file(data.draw, damaged), False
        ref = _reference(data.draw, golden, folder)
        note(f"{what}; --resume {ref}")
        before = recorded(root)
        outcome = genbench("run", "--resume", ref, "--out", root, "--isolation", "none", "--no-report",
                           "--no-progress", "--device", "cpu")
        after = recorded(root)
        check(TARGET, outcome, names=(str(damaged),), before=before, after=after, bad=bad)
        if outcome.code == 0:  # resumed: the result is the uninterrupted run's
            store = ResultsStore(root / "genbench.sqlite")
            run = store.run(golden["run"].id)
            metrics = {m.name: m.value for m in store.metrics(run.id) if m.kind != "timing"}
            store.close()
            assert run.status == "ok" and run.used["images_seen"] == 384
            assert metrics.keys() == golden["metrics"].keys()
            for name, value in golden["metrics"].items():
                assert (value is None and metrics[name] is None) or math.isclose(metrics[name], value, rel_tol=1e-9), (
                    name, metrics[name], value)
            if (folder / "stats.jsonl").is_file():
                assert sorted({r["images_seen"] for r in RunDir(folder).stats()}) == golden["logged"]

    one()
