"""The records layer: typed records, references, the schema migration of a file written
by the first release, the run plan's round trip through options.json, and atomic writes."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3

import pytest
import torch

from harness import budgets, leaderboard
from harness.atomic import atomic_path, write_atomic
from harness.errors import UsageError
from harness.plans import RunPlan
from harness.plugins import Host
from harness.records import MetricValue, ResultsStore, RunDir, RunRecorder
from harness.records.schema import SCHEMA_VERSION
from tests.planted import plant_suite

# The first release's schema (version 1), as its files hold it.
V1_TABLES = """
CREATE TABLE suite_runs (
    id TEXT PRIMARY KEY, suite TEXT NOT NULL, label TEXT, budget TEXT,
    started REAL NOT NULL, finished REAL, options TEXT NOT NULL, env TEXT NOT NULL);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, suite_run TEXT NOT NULL REFERENCES suite_runs(id),
    generator TEXT NOT NULL, dataset TEXT NOT NULL, budget TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, reason TEXT, failed_step INTEGER, run_dir TEXT NOT NULL,
    options TEXT NOT NULL, given TEXT NOT NULL, used TEXT, env TEXT NOT NULL,
    started REAL NOT NULL, finished REAL);
CREATE TABLE evaluations (
    run_id TEXT NOT NULL REFERENCES runs(id), images_seen INTEGER NOT NULL, wall_s REAL NOT NULL,
    values_json TEXT NOT NULL, PRIMARY KEY (run_id, images_seen));
CREATE TABLE metrics (
    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, value REAL,
    direction TEXT NOT NULL, n INTEGER, details TEXT NOT NULL, unavailable TEXT,
    PRIMARY KEY (run_id, name));
"""
V1_METRICS = [("fd-clocknet", 25.6, "min", '{"extractor": "clocknet", "small_n": true}'),
              ("kid-clocknet", 0.3, "min", '{"extractor": "clocknet", "std": 0.0}'),
              ("fid", None, "min", '{"extractor": "inception"}'),
              ("ssim", 0.6, "max", '{"kind": "nearest-real"}'),
              ("modes-clocknet", 10.0, "max", '{"extractor": "clocknet"}'),
              ("mode-kl-clocknet", 0.4, "min", '{"extractor": "clocknet"}'),
              ("neg_elbo_bits_per_dim", 3.2, "min", '{"source": "betavae"}'),
              ("wall_s", 1.5, "min", "{}")]


def _write_v1(path):
    con = sqlite3.connect(path)
    con.executescript(V1_TABLES)
    con.execute("PRAGMA application_id=1195724354")  # 0x47454E42
    con.execute("PRAGMA user_version=1")
    con.execute("INSERT INTO suite_runs VALUES ('s1', 'quick', 'nightly', 'quick', 1.0, 2.0, '{}', "
                "'{\"device_name\": \"cpu\"}')")
    con.execute("INSERT INTO runs VALUES ('r1', 's1', 'betavae', 'clocks', 'quick', 0, 'ok', NULL, NULL, '/x', "
                "'{}', '{\"images\": 10}', '{\"setting\": null, \"images_seen\": 10}', '{}', 1.0, 2.0)")
    con.execute("INSERT INTO evaluations VALUES ('r1', 10, 0.5, '{\"train/loss\": 1.0}')")
    for name, value, direction, details in V1_METRICS:
        con.execute("INSERT INTO metrics VALUES ('r1', ?, ?, ?, 64, ?, NULL)", (name, value, direction, details))
    con.commit()
    con.close()


def test_a_first_release_database_is_migrated_and_reads_the_same(tmp_path):
    path = tmp_path / "old.sqlite"
    _write_v1(path)
    store = ResultsStore(path)
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    kinds = {m.name: m.kind for m in store.metrics("r1")}
    assert kinds == {"fd-clocknet": "fd", "kid-clocknet": "kid", "fid": "fd", "ssim": "ssim",
                     "modes-clocknet": "coverage", "mode-kl-clocknet": "coverage",
                     "neg_elbo_bits_per_dim": "extra", "wall_s": "timing"}
    (run,) = store.runs()
    assert run.used["images_seen"] == 10 and run.given == {"images": 10}
    assert store.evaluations("r1")[0].values == {"train/loss": 1.0}
    board = leaderboard.build(store, [run], "t")
    assert [c.key for c in board.columns if c.direction] == [
        "fd-clocknet", "kid-clocknet", "fid", "ssim", "modes-clocknet", "mode-kl-clocknet",
        "neg_elbo_bits_per_dim", "wall_s"]
    store.close()
    ResultsStore(path).close()  # opening a migrated file again changes nothing


def test_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "new.sqlite"
    ResultsStore(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(UsageError, match="upgrade genbench"):
        ResultsStore(path)
    assert path.read_bytes() == before


def test_references_resolve_in_order_and_wildcards_are_literal(tmp_path, store_location):
    store = ResultsStore(store_location)
    suite_run = plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1]})
    run_id = store.runs(suite_run=suite_run)[0].id
    assert [r.id for r in store.resolve(run_id).runs] == [run_id]
    assert len(store.resolve(suite_run).runs) == 2
    assert store.resolve("base").description.startswith("label 'base'")
    assert store.resolve(run_id[:-1]).runs[0].id == run_id  # a unique prefix
    for wildcard in ("%", "_", "r-%", "r-_"):
        with pytest.raises(UsageError, match="matches no run"):
            store.resolve(wildcard)
        assert store.run(wildcard) is None
    with pytest.raises(UsageError, match="empty reference"):
        store.resolve("")


def test_metric_values_round_trip_typed(tmp_path, store_location):
    store = ResultsStore(store_location)
    plant_suite(store, None, {"fd-clocknet": [5.0]})
    (run,) = store.runs()
    (m,) = store.metrics(run.id)
    assert m == MetricValue("fd-clocknet", 5.0, "min", "fd", 512, {"extractor": "clocknet"}, None)
    assert m.extractor == "clocknet"


def test_run_plan_round_trips_through_its_options(tmp_path):
    host = Host()
    plan = RunPlan("quick", host.generator("ddpm"), "clocks", {"resolution": 32, "channels": 1},
                   {"width": 16}, budgets.NAMED["smoke"], 3, ({"sampler": "ddpm"},))
    options = json.loads(json.dumps(plan.options(torch.device("cpu"))))  # as options.json holds them
    again = RunPlan.from_options(host, options)
    assert again.options(torch.device("cpu")) == plan.options(torch.device("cpu"))
    assert again.budget == plan.budget and again.samplers == plan.samplers
    with pytest.raises(UsageError, match="incomplete or damaged"):
        RunPlan.from_options(host, {k: v for k, v in options.items() if k != "budget"})


def test_recorder_writes_options_once_and_resume_trims_the_log(tmp_path, store_location):
    store = ResultsStore(store_location)
    options = {"suite": "t", "suite_run": "s", "generator": "g", "dataset": "d", "dataset_options": {}, "seed": 0,
               "config": {"a": 1, "auto": "auto"}, "budget": budgets.NAMED["smoke"].as_dict()}
    planned = RunRecorder.plan(tmp_path, options, {})
    store.add_suite_run("s", "t", None, "smoke", {}, {}, runs=[planned])
    assert store.run(planned["id"]).status == "pending"
    rec = RunRecorder.open(store, planned["id"])
    assert rec.begin({}) is None and store.run(rec.run_id).status == "running"
    assert not rec.dir.options_file.exists()  # written by start, with the resolved config
    rec.start({"a": 1, "auto": 7})
    assert json.loads(rec.dir.options_file.read_text())["config"] == {"a": 1, "auto": 7}
    for images in (256, 512):
        rec.evaluation({"images_seen": images, "wall_s": 1.0})
        rec.checkpoint(images, {"trainer": {"images_seen": images}, "generator": {"w": torch.ones(2)}})
    rec.evaluation({"images_seen": 768, "wall_s": 2.0})  # logged, then killed before its checkpoint
    with pytest.raises(UsageError, match="is running"):  # this process is alive: not resumable
        RunRecorder.reopen(store, str(rec.dir.path))
    rec.interrupt({})
    again = RunRecorder.reopen(store, str(rec.dir.path))
    assert again.run_id == rec.run_id and again.options["config"]["auto"] == 7
    checkpoint = again.begin({})
    assert checkpoint["trainer"]["images_seen"] == 512
    assert [r["images_seen"] for r in again.dir.stats()] == [256, 512]
    again.finish({"images_seen": 1024}, [])
    with pytest.raises(UsageError, match="already finished"):
        RunRecorder.reopen(store, rec.run_id)


def test_a_checkpoint_holding_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    folder = RunDir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    torch.save({"generator": Payload()}, tmp_path / "checkpoints" / "ckpt-0000000001.pt")
    with pytest.raises(UsageError, match="cannot load the checkpoint"):
        folder.load_checkpoint(folder.latest_checkpoint())
    assert not (tmp_path / "pwned").exists()


def test_atomic_writes(tmp_path):
    target = tmp_path / "out.txt"
    write_atomic(target, "one")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk gone")
    assert target.read_text() == "one" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "link.md"
    link.symlink_to(victim)
    write_atomic(link, "board")
    assert victim.read_text() == "precious" and not link.is_symlink() and link.read_text() == "board"
    with atomic_path(tmp_path / "a") as first, atomic_path(tmp_path / "a") as second:
        assert first != second  # two writers never share a temporary name
        first.write_text("1")
        second.write_text("2")
