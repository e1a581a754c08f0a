"""Issue 14 in the records layer: a damaged results database or run folder is bad input
(exit 2, one line naming the file, the table or key, what is wrong), never a traceback,
never a silently wrong result, and a command that only reads creates nothing. A damaged
checkpoint on --resume is set aside with a warning and the run resumes from the one
before it (or from the start): the result is the same as the uninterrupted run's."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch

from harness import budgets
from harness.errors import UsageError
from harness.records import ResultsStore, RunDir, RunRecorder
from harness.records.processes import ProcessId
from harness.training import TrainState, checkpoint_problem
from tests.planted import plant_suite

GONE = ProcessId("a-host-that-is-gone", 1, None)  # a run recorded running there reads as interrupted


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _interrupted(db: Path) -> None:
    """Its run recorded as interrupted, and the whole database in its file (no WAL), so a copy is complete."""
    store = ResultsStore(db)
    store.start_run(store.runs()[0].id, {}, GONE)
    store.close()
    _sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")


def copy_root(src: Path, dst: Path) -> Path:
    """A copy of a run root whose database names the copied run folders."""
    shutil.copytree(src, dst)
    _sql(dst / "genbench.sqlite", f"UPDATE runs SET run_dir = replace(run_dir, '{src}', '{dst}')")
    return dst


@pytest.fixture(scope="module")
def smoke_root(tmp_path_factory) -> Path:
    """A real smoke run of the gaussian baseline, recorded as interrupted (resumable)."""
    from harness import cli

    root = tmp_path_factory.mktemp("smoke") / "runs"
    assert cli.main(["run", "-g", "gaussian", "--budget", "smoke", "--isolation", "none", "--no-report",
                     "--no-progress", "--out", str(root)]) == 0
    _interrupted(root / "genbench.sqlite")
    return root


@pytest.fixture(scope="module")
def smoke_db(smoke_root, tmp_path_factory) -> Path:
    """The smoke run's database with its run finished (ok), as the reading commands see it."""
    db = tmp_path_factory.mktemp("finished") / "genbench.sqlite"
    shutil.copy(smoke_root / "genbench.sqlite", db)
    _sql(db, "UPDATE runs SET status = 'ok', host = NULL, pid = NULL, pid_started = NULL")
    return db


@pytest.fixture(scope="module")
def clock_root(tmp_path_factory) -> Path:
    """A real clock run with two checkpoints (256 and 384 images), recorded as interrupted."""
    from harness import cli

    base = tmp_path_factory.mktemp("clock")
    budget = base / "tiny.toml"
    budget.write_text("images = 384\nwall_clock_s = 600\neval_every = 128\nn_samples = 16\n")
    root = base / "runs"
    assert cli.main(["run", "-g", "clock", "-b", str(budget), "--isolation", "none", "--no-report", "--no-progress",
                     "--device", "cpu", "--out", str(root)]) == 0
    _interrupted(root / "genbench.sqlite")
    return root


# -- the results database ------------------------------------------------------------------


def test_damaged_pages_are_bad_input_and_the_file_is_left_alone(smoke_db, tmp_path, run_cli):
    db = tmp_path / "flipped.sqlite"
    raw = bytearray(smoke_db.read_bytes())
    for i in range(4096, len(raw), 7):  # every page after the first
        raw[i] ^= 0xFF
    db.write_bytes(raw)
    before = _listing(tmp_path)
    for args in (["leaderboard"], ["runs"], ["history", "-g", "gaussian", "-m", "fd-clocknet"]):
        code, _, err = run_cli(*args, "--db", db, "--out", tmp_path)
        assert code == 2 and err.startswith(f"genbench: error: {db}: not a readable genbench database (damaged"), err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _listing(tmp_path) == before  # no side file (-wal, -shm) left, not a byte changed


@pytest.mark.parametrize("table", ["suite_runs", "runs", "evaluations", "metrics"])
def test_a_missing_table_is_named(smoke_db, tmp_path, run_cli, table):
    db = tmp_path / "dropped.sqlite"
    shutil.copy(smoke_db, db)
    _sql(db, f"DROP TABLE {table}")
    with pytest.raises(UsageError, match=f"{db}: the table '{table}' is missing"):
        ResultsStore(db)
    code, _, err = run_cli("runs", "--db", db)
    assert code == 2 and f"the table '{table}' is missing" in err and str(db) in err


@pytest.mark.parametrize("cut", [1, 100, 4096])
def test_a_file_cut_short_is_refused_though_sqlite_would_read_zeros(smoke_db, tmp_path, cut):
    """SQLite reads the missing end of a page as zeros: the last cells' values, silently changed."""
    db = tmp_path / "cut.sqlite"
    db.write_bytes(smoke_db.read_bytes()[:-cut])
    with pytest.raises(UsageError, match=f"{db} is cut short: .* bytes, where its header says"):
        ResultsStore(db, create=False)


def test_a_quality_metric_flagged_small_n_needs_its_n(smoke_db, tmp_path, run_cli):
    db = tmp_path / "n.sqlite"
    shutil.copy(smoke_db, db)
    _sql(db, "UPDATE metrics SET n = NULL WHERE name = 'fd-clocknet'")
    code, _, err = run_cli("leaderboard", "--db", db)
    assert code == 2 and "metric 'fd-clocknet', column n: NULL" in err, err  # before: a TypeError in the leaderboard


def test_a_refused_file_is_left_byte_for_byte(tmp_path):
    """Refused before the store writes to it (switching to WAL mode writes the header)."""
    for n, damage in enumerate(("DROP TABLE metrics", "PRAGMA user_version=9", "PRAGMA user_version=0")):
        db = tmp_path / f"{n}.sqlite"
        ResultsStore(db).close()
        _sql(db, "PRAGMA journal_mode=DELETE", damage)
        before = _listing(tmp_path)
        with pytest.raises(UsageError, match=str(db)):
            ResultsStore(db)
        assert _listing(tmp_path) == before


def test_a_folder_is_not_a_database(tmp_path):
    folder = tmp_path / "db.sqlite"
    folder.mkdir()
    for create in (True, False):
        with pytest.raises(UsageError, match="is a folder, not a results database file"):
            ResultsStore(folder, create=create)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(("table", "column", "key"), [
    ("runs", "options", "row id '"), ("runs", "used", "row id '"), ("suite_runs", "env", "row id '"),
    ("metrics", "details", "row run '"), ("runs", "given", "row id '")])
def test_malformed_json_names_file_table_row_and_column(smoke_db, tmp_path, run_cli, table, column, key):
    db = tmp_path / "json.sqlite"
    shutil.copy(smoke_db, db)
    _sql(db, f"UPDATE {table} SET {column} = '{{\"broken'")
    code, _, err = run_cli("leaderboard", "--db", db)
    assert code == 2, err
    assert f"genbench: error: {db}: table {table}, {key}" in err and f"column {column}: not JSON" in err, err


@pytest.mark.parametrize(("value", "shown"), [("'abc'", "the text 'abc'"), ("x'00ff'", "a blob of 2 bytes")])
def test_a_metric_value_that_is_not_a_number_is_refused_everywhere(smoke_db, tmp_path, run_cli, value, shown):
    db = tmp_path / "text.sqlite"
    shutil.copy(smoke_db, db)
    _sql(db, f"UPDATE metrics SET value = {value} WHERE name = 'fd-clocknet'")
    suite_run = ResultsStore(db).suite_runs()[0].id
    for args in (["leaderboard"], ["compare", suite_run, suite_run], ["report", "--html", tmp_path / "r.html"],
                 ["history", "-g", "gaussian", "-m", "fd-clocknet", "--out", tmp_path]):
        code, out, err = run_cli(*args, "--db", db)
        assert code == 2, (args, out, err)  # before: a leaderboard showing 'abc', a ValueError elsewhere
        assert f"metric 'fd-clocknet' has {shown} as its value" in err and str(db) in err, err


@pytest.mark.parametrize(("column", "value"), [("seed", "'zero'"), ("started", "1e300"), ("status", "'done'"),
                                               ("pid", "-5"), ("run_dir", "''")])
def test_a_run_column_of_the_wrong_kind_is_refused(smoke_db, tmp_path, column, value):
    db = tmp_path / "col.sqlite"
    shutil.copy(smoke_db, db)
    _sql(db, f"UPDATE runs SET {column} = {value}")
    with pytest.raises(UsageError, match=f"table runs, row id '.*', column {column}: "):
        ResultsStore(db).runs()


def test_references_must_name_something_and_labels_match_exactly(tmp_path, run_cli):
    db = tmp_path / "r.sqlite"
    store = ResultsStore(db)
    plant_suite(store, "100%_sure", {"fd-clocknet": [5.0]})
    plant_suite(store, "other", {"fd-clocknet": [6.0]})
    assert store.resolve("100%_sure").description.startswith("label '100%_sure'")  # a label is text, matched exactly
    for ref in ("", " ", "\t"):
        with pytest.raises(UsageError, match="an empty reference names nothing; a reference is a run id"):
            store.resolve(ref)
    for ref in ("%", "_", "%%", "__", "100%", "100_", "r-%", "r%", "r_", "s-%", "*", "r-*"):
        with pytest.raises(UsageError, match=r"matches no run, suite run or label .*a reference is"):
            store.resolve(ref)
        assert store.run(ref) is None
    with pytest.raises(UsageError, match="empty suite name"):
        store.latest_suite_run("")
    for ref in ("", "%", "_"):
        code, _, err = run_cli("compare", ref, ref, "--db", db)
        assert code == 2 and err.count("genbench: error:") == 1, err


def test_reading_creates_nothing(tmp_path, smoke_db):
    empty, damaged, missing = tmp_path / "empty.sqlite", tmp_path / "damaged.sqlite", tmp_path / "nope" / "x.sqlite"
    empty.touch()
    damaged.write_bytes(smoke_db.read_bytes()[:5000])
    foreign = tmp_path / "foreign.sqlite"
    _sql(foreign, "CREATE TABLE t (x)", "DROP TABLE t")  # an SQLite file with nothing in it
    before = _listing(tmp_path)
    for path, message in ((missing, "no results database at"), (empty, "is an empty file"),
                          (damaged, "is cut short: 5000 bytes"), (foreign, "is an empty SQLite database")):
        with pytest.raises(UsageError, match=message):
            ResultsStore(path, create=False)
    assert _listing(tmp_path) == before and not missing.parent.exists()
    ResultsStore(empty).close()  # a writer makes an empty file a database, as it always did
    assert ResultsStore(empty, create=False).suite_runs() == []


def test_a_genbench_file_of_schema_version_0_is_refused(tmp_path):
    db = tmp_path / "v0.sqlite"
    ResultsStore(db).close()
    _sql(db, "PRAGMA user_version=0")
    with pytest.raises(UsageError, match="schema version 0"):
        ResultsStore(db)


# -- run folders on --resume ---------------------------------------------------------------


def _resume(run_cli, root: Path, ref: str) -> tuple[int, str, str]:
    return run_cli("run", "--resume", ref, "--out", root, "--isolation", "none", "--no-report", "--no-progress",
                   "--device", "cpu")


def _options_file(root: Path) -> Path:
    return next(root.glob("0*-adhoc-*")) / "options.json"


def _recorded(root: Path) -> dict:
    """Every file's size and every table's rows (a resume refused with exit 2 changes nothing)."""
    state = {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")
             if p.is_file() and not p.name.endswith(("-wal", "-shm"))}
    con = sqlite3.connect(root / "genbench.sqlite")
    state["rows"] = [list(r) for t in ("suite_runs", "runs", "evaluations", "metrics")
                     for r in con.execute(f"SELECT * FROM {t} ORDER BY 1")]
    con.close()
    return state


@pytest.mark.parametrize(("damage", "message"), [
    (lambda o: "{not json", "options.json is not JSON"),
    (lambda o: "[1, 2]", "options.json holds list, not a JSON object"),
    (lambda o: json.dumps({**o, "budget": {**o["budget"], "images": -1}}), "images must be from 1 to"),
    (lambda o: json.dumps({**o, "budget": {**o["budget"], "images": 1024}}), "'budget.images' is the number 1024, but"),
    (lambda o: json.dumps({k: v for k, v in o.items() if k != "budget"}), "key 'budget' is missing"),
    (lambda o: json.dumps({**o, "budget": "smoke"}), "key 'budget' is the text 'smoke'; expected a JSON object"),
    (lambda o: json.dumps({**o, "seed": "0"}), "key 'seed' is the text '0'; expected a whole number"),
    (lambda o: json.dumps({**o, "seed": 3}), "key 'seed' is the number 3, but run"),
    (lambda o: json.dumps({**o, "budget": {**o["budget"], "seeds": "0"}}), "seeds must be a list"),
    (lambda o: json.dumps({**o, "config": {"extra": 1}}), "key 'config.extra' is the number 1, but"),
    (lambda o: json.dumps({**o, "run_id": "00000-0000"}), "key 'run_id' is the text '00000-0000'"),
])
def test_damaged_options_are_refused_naming_file_and_key(smoke_root, tmp_path, run_cli, damage, message):
    root = copy_root(smoke_root, tmp_path / "runs")
    options = _options_file(root)
    options.write_text(damage(json.loads(options.read_text())))
    before = _recorded(root)
    for ref in (ResultsStore(root / "genbench.sqlite").runs()[0].id, str(options.parent)):
        code, _, err = _resume(run_cli, root, ref)
        assert code == 2, err  # before: images -1 resumed as an ok run of 64 images; others, tracebacks
        assert err.startswith(f"genbench: error: {options}") and message in err and err.count("\n") == 1, err
    assert _recorded(root) == before


def test_damaged_options_are_refused_before_a_worker_starts(smoke_root, tmp_path, run_cli):
    root = copy_root(smoke_root, tmp_path / "runs")
    options = _options_file(root)
    options.write_text(json.dumps({**json.loads(options.read_text()), "seed": -1}))
    before = _recorded(root)
    code, _, err = run_cli("run", "--resume", str(options.parent), "--out", root, "--no-report")  # isolated
    assert code == 2 and f"{options}: key 'seed': a seed must be from 0 to" in err, err
    assert _recorded(root) == before


def test_a_damaged_options_file_does_not_keep_a_failure_from_being_recorded(smoke_root, tmp_path):
    root = copy_root(smoke_root, tmp_path / "runs")
    _options_file(root).write_text("{damaged")
    store = ResultsStore(root / "genbench.sqlite")
    run_id = store.runs()[0].id
    with pytest.raises(UsageError, match=r"options\.json is not JSON"):
        RunRecorder.open(store, run_id)
    RunRecorder.open(store, run_id, check=False).fail("the worker died", {}, "the worker died")  # the supervisor's
    assert store.run(run_id).status == "failed" and _options_file(root).read_text() == "{damaged"


def test_a_copied_run_folder_does_not_resume_the_original(smoke_root, tmp_path, run_cli):
    root = copy_root(smoke_root, tmp_path / "runs")
    copy = shutil.copytree(_options_file(root).parent, tmp_path / "copy")
    code, _, err = _resume(run_cli, root, str(copy))
    assert code == 2 and "is recorded in the folder" in err, err


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["generator"]["net"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "folder", "garbage", "code"])
def test_a_damaged_checkpoint_is_set_aside_and_the_run_resumes_from_the_one_before(clock_root, tmp_path, run_cli,
                                                                                   damage):
    root = copy_root(clock_root, tmp_path / "runs")
    folder = _options_file(root).parent
    latest = folder / "checkpoints" / "ckpt-0000000384.pt"
    straight = _weights(latest)  # what the uninterrupted run ended with
    logged = [(r["images_seen"], r["final"]) for r in RunDir(folder).stats()]
    raw = latest.read_bytes()
    if damage == "truncate":
        latest.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":  # inside a tensor: torch itself would load it, wrong
        latest.write_bytes(raw[:3000] + bytes([raw[3000] ^ 0x10]) + raw[3001:])
    elif damage == "folder":
        latest.unlink()
        latest.mkdir()
    elif damage == "garbage":
        latest.write_bytes(os.urandom(len(raw)))
    else:
        torch.save({"generator": _Payload(tmp_path / "pwned")}, latest)
    code, _, err = _resume(run_cli, root, str(folder))
    assert code == 0, err
    warning = [line for line in err.splitlines() if line.startswith("genbench: warning: ")]
    assert len(warning) == 1 and str(latest) in warning[0] and "resuming from ckpt-0000000256.pt" in warning[0]
    assert (folder / "checkpoints" / "ckpt-0000000384.pt.damaged").exists()
    run = ResultsStore(root / "genbench.sqlite").runs()[0]
    assert run.status == "ok" and run.used["images_seen"] == 384
    assert [(r["images_seen"], r["final"]) for r in RunDir(folder).stats()] == logged
    again = _weights(latest)
    assert all(torch.equal(straight[k], again[k]) for k in straight)  # the same weights as the uninterrupted run
    assert not (tmp_path / "pwned").exists()


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _planned(tmp_path: Path) -> tuple[ResultsStore, RunRecorder]:
    store = ResultsStore(tmp_path / "r.sqlite")
    options = {"suite": "t", "suite_run": "s", "generator": "g", "dataset": "d", "dataset_options": {}, "seed": 0,
               "config": {}, "budget": budgets.NAMED["smoke"].as_dict()}
    planned = RunRecorder.plan(tmp_path, options, {})
    store.add_suite_run("s", "t", None, "smoke", {}, {}, runs=[planned])
    return store, RunRecorder.open(store, planned["id"])


def _state(images: int, **trainer) -> dict:
    return {"generator": {"w": torch.ones(2) * images}, "torch_rng": torch.get_rng_state(), "cuda_rng": None,
            "trainer": {**TrainState(images_seen=images).__dict__, **trainer}}


def test_when_no_checkpoint_is_good_the_run_starts_over_and_the_log_is_rewritten(tmp_path, capsys):
    store, rec = _planned(tmp_path)
    rec.begin({})
    for images in (256, 512):
        rec.evaluation({"images_seen": images, "wall_s": 1.0})
        rec.checkpoint(images, _state(images))
    rec.interrupt({})
    (rec.dir.checkpoints / "ckpt-0000000512.pt").write_bytes(b"PK\x03\x04 not really")
    torch.save(_state(256, steps=-3), rec.dir.checkpoints / "ckpt-0000000256.pt")  # loads, but wrong
    again = RunRecorder.reopen(store, rec.run_id)
    assert again.begin({}, check=checkpoint_problem) is None
    err = capsys.readouterr().err
    assert err.count("genbench: warning: ") == 2 and "starts over" in err and "steps is -3" in err
    assert sorted(p.name for p in rec.dir.checkpoints.iterdir()) == ["ckpt-0000000256.pt.damaged",
                                                                      "ckpt-0000000512.pt.damaged"]
    assert rec.dir.stats() == []


def test_a_damaged_log_line_is_rewritten_from_the_database(tmp_path, capsys):
    store, rec = _planned(tmp_path)
    rec.begin({})
    for images in (256, 512):
        rec.evaluation({"images_seen": images, "wall_s": 1.0, "train/loss": 0.5})
        rec.checkpoint(images, _state(images))
    rec.interrupt({})
    lines = rec.dir.stats_file.read_text().splitlines()
    rec.dir.stats_file.write_text(lines[0][:-7] + "\n\x00garbage\n" + lines[1] + "\n")
    with pytest.raises(UsageError, match=r"stats.jsonl, line 1: not JSON"):
        rec.dir.stats()
    checkpoint = RunRecorder.reopen(store, rec.run_id).begin({}, check=checkpoint_problem)
    assert checkpoint["trainer"]["images_seen"] == 512
    assert "stats.jsonl, line 1: not JSON" in capsys.readouterr().err
    assert rec.dir.stats() == [{"images_seen": 256, "wall_s": 1.0, "train/loss": 0.5},
                               {"images_seen": 512, "wall_s": 1.0, "train/loss": 0.5}]


def test_checkpoints_load_weights_only(tmp_path, monkeypatch):
    seen = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: seen.append(k.get("weights_only")) or real(*a, **k))
    folder = RunDir(tmp_path)
    folder.save_checkpoint(256, _state(256))
    folder.load_checkpoint(folder.latest_checkpoint())
    assert seen == [True]
