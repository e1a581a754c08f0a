"""The metric that ranks a leaderboard is explicit: each dataset declares it, a suite or
``--rank-by`` overrides it, each run records it, and installing a plugin changes neither
the ranking nor the leading columns."""

from __future__ import annotations

import secrets

import pytest
import torch

from harness import FeatureExtractor, hookimpl, leaderboard, suites
from harness.budgets import NAMED
from harness.errors import UsageError
from harness.plans import plan_suite
from harness.plugins import Host
from harness.records import MetricValue, ResultsStore
from harness.runner import SuiteRunner
from tests.helpers import TinyGenerator, TinyPlugin, run_suite, tiny_suite


class FirstByName(FeatureExtractor):
    """A random projection whose columns sort before every built-in's."""

    name = "aa-rand"

    def fingerprint(self) -> str:
        return "aa-rand|projection-seed-0"

    def extract(self, images):
        flat = images.flatten(1).float()
        projection = torch.randn(flat.shape[1], 8, generator=torch.Generator().manual_seed(0))
        return flat @ projection.to(flat.device), None


class ExtractorPlugin:
    @hookimpl
    def genbench_feature_extractors(self):
        return [FirstByName()]


def test_an_extractor_that_sorts_first_changes_no_ranking(tmp_path):
    suite = tiny_suite({}, {"batch_size": 4})
    plain, _, _ = run_suite(tmp_path / "plain", suite)
    host = Host(plugins=[("tiny", TinyPlugin()), ("aa", ExtractorPlugin())])
    store, _, _ = run_suite(tmp_path / "with", suite, host)
    before = leaderboard.build(plain, plain.runs(), "before")
    after = leaderboard.build(store, store.runs(), "after")
    assert "fd-aa-rand" in [c.key for c in after.columns], "the plugin's columns are measured"
    assert before.rank_by == after.rank_by == "fd-clocknet"
    assert [r["run"] for r in before.rows] == sorted((r["run"] for r in before.rows),
                                                     key=lambda i: next(r["fd-clocknet"] for r in before.rows
                                                                        if r["run"] == i))
    quality = [c.key for c in after.columns if c.direction and not c.timing]
    assert quality[:3] == ["fd-clocknet", "fd-clocknet-inf", "kid-clocknet"], quality
    assert all(run.options["rank_by"] == "fd-clocknet" for run in store.runs())
    # Same seeds, same numbers: the rows are in the same order with the plugin as without.
    assert [r["fd-clocknet"] for r in before.rows] == [r["fd-clocknet"] for r in after.rows]
    # Footnotes reach every reporter as plain text (FID is n/a here: no weights).
    assert any(note.startswith("fid, fid-inf, kid-inception n/a") for note in after.footnotes), after.footnotes
    assert not any("`" in note for note in after.footnotes), after.footnotes


# -- the recorded choice, overrides, and older runs --------------------------------------


def plant(store: ResultsStore, rows: list[dict], rank_by: str | None = None, dataset: str = "clocks",
          suite_run: str | None = None) -> str:
    """Runs with the given metric values (FD and KID columns of two feature spaces)."""
    suite_run = suite_run or f"s-{secrets.token_hex(4)}"
    if store.suite_run(suite_run) is None:
        store.add_suite_run(suite_run, "planted", None, "smoke", {}, {})
    for k, values in enumerate(rows):
        run_id = f"r-{secrets.token_hex(4)}"
        options = {"config": {}} if rank_by is None else {"config": {}, "rank_by": rank_by}
        store.add_run(id=run_id, suite_run=suite_run, generator=f"g{k}", dataset=dataset, budget="smoke", seed=0,
                      run_dir="/nonexistent", options=options, given=NAMED["smoke"].as_dict(), env={})
        metrics = [MetricValue(name, value, "min", name.split("-")[0] if "-" in name else "fd", 64,
                               {"extractor": name.split("-", 1)[1] if "-" in name else "inception"})
                   for name, value in values.items()]
        store.finish_run(run_id, "ok", {}, metrics)
    return suite_run


@pytest.fixture
def store(tmp_path):
    store = ResultsStore(tmp_path / "genbench.sqlite")
    yield store
    store.close()


ROWS = [{"fd-aa": 1.0, "fd-clocknet": 30.0, "fid": 5.0}, {"fd-aa": 2.0, "fd-clocknet": 10.0, "fid": 6.0}]


def ranked(board) -> list[str]:
    return [r["generator"] for r in board.rows]


def test_the_recorded_metric_ranks(store):
    suite_run = plant(store, ROWS, rank_by="fd-clocknet")
    board = leaderboard.build(store, store.runs(suite_run=suite_run), "t")
    assert board.rank_by == "fd-clocknet" and ranked(board) == ["g1", "g0"]
    assert [c.key for c in board.columns if c.direction][:1] == ["fd-clocknet"]


def test_rank_by_overrides_the_recorded_metric(store):
    suite_run = plant(store, ROWS, rank_by="fd-clocknet")
    board = leaderboard.build(store, store.runs(suite_run=suite_run), "t", rank_by="fid")
    assert board.rank_by == "fid" and ranked(board) == ["g0", "g1"]
    with pytest.raises(UsageError, match=r"--rank-by fd-nope: no such metric in this leaderboard; its metrics: "
                                         r"fd-aa, fd-clocknet, fid"):
        leaderboard.build(store, store.runs(suite_run=suite_run), "t", rank_by="fd-nope")


def test_runs_recorded_before_the_choice_keep_their_old_rule(store):
    # Older runs: the first FD of a domain network, by name; here "fd-aa" (its
    # extractor is not Inception), as those runs were ranked when they were recorded.
    suite_run = plant(store, ROWS)
    assert leaderboard.build(store, store.runs(suite_run=suite_run), "t").rank_by == "fd-aa"


def test_datasets_with_different_metrics_are_ranked_each_by_its_own(store):
    suite_run = plant(store, ROWS, rank_by="fd-clocknet")
    plant(store, [{"fid": 9.0}, {"fid": 3.0}], rank_by="fid", dataset="cifar10", suite_run=suite_run)
    board = leaderboard.build(store, store.runs(suite_run=suite_run), "t")
    assert board.rankings == {"clocks": "fd-clocknet", "cifar10": "fid"}
    assert [(r["dataset"], r["generator"]) for r in board.rows] == [
        ("clocks", "g1"), ("clocks", "g0"), ("cifar10", "g1"), ("cifar10", "g0")]
    assert "grouped by dataset, each ranked by its metric: clocks by fd-clocknet, cifar10 by fid" in board.footnotes


def test_datasets_that_share_a_metric_are_not_ranked_in_one_list(store):
    suite_run = plant(store, [{"fd-digitnet": 9.0}], rank_by="fd-digitnet", dataset="digits")
    plant(store, [{"fd-digitnet": 1.0}, {"fd-digitnet": 20.0}], rank_by="fd-digitnet", dataset="mnist",
          suite_run=suite_run)
    board = leaderboard.build(store, store.runs(suite_run=suite_run), "t")
    assert [(r["dataset"], r["fd-digitnet"]) for r in board.rows] == [
        ("digits", 9.0), ("mnist", 1.0), ("mnist", 20.0)]


def test_a_ranking_metric_without_values_is_said(store):
    suite_run = plant(store, [{"fd-clocknet": 3.0}], rank_by="fid")
    board = leaderboard.build(store, store.runs(suite_run=suite_run), "t")
    assert any(n.startswith("clocks rows not ranked: none has a value of fid") for n in board.footnotes)


# -- declared by the dataset, overridden by the suite, checked when planned --------------


def test_each_builtin_dataset_declares_its_metric():
    host = Host()
    assert {n: host.dataset(n).rank_by for n in ("clocks", "digits", "mnist", "fashion-mnist", "cifar10")} == {
        "clocks": "fd-clocknet", "digits": "fd-digitnet", "mnist": "fd-digitnet", "fashion-mnist": "fid",
        "cifar10": "fid"}


def test_a_suite_overrides_the_dataset_and_a_typo_is_refused(tmp_path):
    host = Host(plugins=[("tiny", TinyPlugin())])
    suite = tiny_suite({})
    assert [p.rank_by for p in plan_suite(host, suite)] == ["fd-clocknet"]
    suite.rank_by = "kid-clocknet"
    assert [p.options(torch.device("cpu"))["rank_by"] for p in plan_suite(host, suite)] == ["kid-clocknet"]
    suite.rank_by = "fd-clockent"
    with pytest.raises(UsageError, match=r"unknown ranking metric 'fd-clockent'"):
        plan_suite(host, suite)
    path = tmp_path / "s.toml"
    path.write_text('budget = "smoke"\nrank_by = "ssim"\n[[entry]]\ngenerator = "tiny"\ndataset = "clocks"\n')
    assert suites.load(str(path)).rank_by == "ssim"


def test_rank_by_on_the_command_line(run_cli, tmp_path):
    store = ResultsStore(tmp_path / "genbench.sqlite")
    plant(store, ROWS, rank_by="fd-clocknet")
    store.close()
    code, out, _ = run_cli("leaderboard", "--out", str(tmp_path), "--format", "csv", "--rank-by", "fid")
    assert code == 0
    lines = out.splitlines()
    assert [line.split(",")[0] for line in lines[1:3]] == ["g0", "g1"], out
    code, _, err = run_cli("leaderboard", "--out", str(tmp_path), "--rank-by", "fd-nope")
    assert code == 2 and "--rank-by fd-nope: no such metric" in err


class Sampled(TinyGenerator):
    name = "sampled"
    sampling_keys = ("nan_at",)


def test_a_sampler_variant_records_the_ranking_of_its_entry(tmp_path):
    host = Host(plugins=[("p", SampledPlugin())])
    suite = suites.Suite("t", NAMED["smoke"], [suites.Entry("sampled", "clocks", samplers=({"nan_at": 0},))], (0,),
                         rank_by="kid-clocknet")
    store = ResultsStore(tmp_path / "genbench.sqlite")
    runner = SuiteRunner(host, store, tmp_path, torch.device("cpu"), show_progress=False)
    suite_run = runner.record_plan(suite, plan_suite(host, suite))
    assert [r.options["rank_by"] for r in store.runs(suite_run=suite_run)] == ["kid-clocknet"] * 2


class SampledPlugin:
    @hookimpl
    def genbench_generators(self):
        return [Sampled]


def test_a_ranking_metric_no_plugin_measures_is_said_before_the_run():
    host = Host(plugins=[("tiny", TinyPlugin())], entry_points=False)
    host.datasets["clocks"] = Host().dataset("clocks")
    with pytest.warns(UserWarning, match=r"dataset 'clocks' ranks by fd-clocknet, which no installed plugin "
                                         r"measures: its rows will not be ranked"):
        plan_suite(host, tiny_suite({}))


def test_rank_by_is_for_a_new_suite_run(run_cli, tmp_path):
    code, _, err = run_cli("run", "--resume", "nothing", "--rank-by", "fid", "--out", str(tmp_path))
    assert code == 2 and "--rank-by chooses how a new suite run is ranked" in err
