"""``seed_summary.over_seeds``: the runs of one generator over several seeds become one
row with the mean and the t-interval half-width; failed and single-seed rows stay."""

from __future__ import annotations

import copy
import secrets

import pytest

from harness import leaderboard
from harness.budgets import NAMED
from harness.records import MetricValue, ResultsStore
from harness.seed_summary import over_seeds

# t quantiles by hand (tables): t_{0.95, 2}, t_{0.975, 2}, t_{0.95, 1}.
T_95_2, T_975_2, T_95_1 = 2.919986, 4.302653, 6.313752


@pytest.fixture
def store(tmp_path):
    store = ResultsStore(tmp_path / "genbench.sqlite")
    yield store
    store.close()


def add(store: ResultsStore, suite_run: str, generator: str, seed: int, fd: float | None = None,
        kid: float | None = None, ssim: float = 0.5, ssim_kind: str = "paired", small_n: bool = False,
        setting: str | None = None, failed: bool = False, budget: str = "smoke", used: dict | None = None) -> str:
    """One run of ``generator`` with these values (kid None: unavailable)."""
    run_id = f"r-{secrets.token_hex(4)}"
    store.add_run(id=run_id, suite_run=suite_run, generator=generator, dataset="clocks", budget=budget, seed=seed,
                  run_dir="/nonexistent", options={"config": {}, "rank_by": "fd-clocknet"},
                  given=NAMED[budget].as_dict(), env={})
    used = {**(used or {}), **({"setting": setting} if setting else {})}
    if failed:
        store.finish_run(run_id, "failed", used, reason="boom")
        return run_id
    clocknet = {"extractor": "clocknet"}
    metrics = [
        MetricValue("fd-clocknet", fd, "min", "fd", 64, {**clocknet, "small_n": small_n, "n_real": 64,
                                                            "interval": [0.0, 10.0]}),
        MetricValue("kid-clocknet", kid, "min", "kid", 64, {**clocknet, "std": 0.001} if kid is not None else clocknet,
                    None if kid is not None else "no weights"),
        MetricValue("ssim", ssim, "max", "ssim", 64, {"kind": ssim_kind}),
        MetricValue("params", 100.0, "min", "timing"),
    ]
    store.finish_run(run_id, "ok", used, metrics)
    return run_id


@pytest.fixture
def board(store):
    """ga and gb over seeds 0-2 (gb's seed 3 failed), gc and ga [ddim] over one seed."""
    store.add_suite_run("s", "planted", None, "smoke", {}, {})
    ids = {}
    # gb's seed 0 is the best single run: ranked by seed, gb would lead; by its mean it is last.
    for seed, (fd, kid, ssim, kind) in enumerate([(0.5, 0.01, 0.2, "paired"), (4.5, 0.02, 0.3, "paired"),
                                                  (9.0, 0.03, 0.4, "nearest-real")]):
        ids["gb", seed] = add(store, "s", "gb", seed, fd, kid, ssim, kind, small_n=seed == 1)
    for seed, (fd, kid) in enumerate([(1.0, 0.01), (2.0, 0.03), (3.0, None)]):
        ids["ga", seed] = add(store, "s", "ga", seed, fd, kid, ssim=0.6 + seed / 10)
    ids["gb", 3] = add(store, "s", "gb", 3, failed=True)
    ids["gc", 0] = add(store, "s", "gc", 0, 1.5, 0.02, ssim=0.1)
    ids["ga-ddim", 0] = add(store, "s", "ga", 0, 2.5, 0.02, ssim=0.1, setting="ddim")
    return leaderboard.build(store, store.runs(suite_run="s"), "t", per_seed=True), ids


def row_of(board, generator: str, setting: str | None = None) -> dict:
    [row] = [r for r in board.rows if r["generator"] == generator and r.get("setting") == setting
             and r["status"] == "ok"]
    return row


def test_seeds_become_one_row_with_the_mean_and_the_t_half_width(board):
    board, ids = board
    ga = row_of(over_seeds(board), "ga")
    assert ga["fd-clocknet"] == pytest.approx(2.0)
    # values 1, 2, 3: sample std 1, so the 90% half-width is t_{0.95, 2} / sqrt(3).
    assert ga["fd-clocknet ±"] == pytest.approx(T_95_2 / 3 ** 0.5, abs=1e-5) == pytest.approx(1.68585, abs=1e-4)
    assert ga["ssim"] == pytest.approx(0.7) and ga["ssim ±"] == pytest.approx(T_95_2 * 0.1 / 3 ** 0.5, abs=1e-6)
    assert ga["params"] == 100.0 and ga["params ±"] == 0.0  # a timing column too; equal values, no spread
    assert ga["seed"] == "0, 1, 2" and ga["seeds"] == [0, 1, 2]
    assert ga["runs"] == [ids["ga", s] for s in range(3)] and ga["run"] == ids["ga", 0]
    assert ga["spread"] == "seeds"
    gb = row_of(over_seeds(board, level=0.95), "gb")
    assert gb["fd-clocknet"] == pytest.approx(14 / 3)
    # values 0.5, 4.5, 9: std sqrt(18.083...), 95% half-width t_{0.975, 2} * std / sqrt(3).
    std = ((0.5 - 14 / 3) ** 2 + (4.5 - 14 / 3) ** 2 + (9 - 14 / 3) ** 2) ** 0.5 / 2 ** 0.5
    assert gb["fd-clocknet ±"] == pytest.approx(T_975_2 * std / 3 ** 0.5, abs=1e-5)


def test_rows_are_ranked_by_the_means_and_failed_and_single_runs_stay(board):
    board, ids = board
    assert [r["generator"] for r in board.rows][:2] == ["gb", "ga"], "before: gb's seed 0 leads"
    summary = over_seeds(board)
    assert [(r["generator"], r.get("setting"), r["seed"]) for r in summary.rows] == [
        ("gc", None, 0), ("ga", None, "0, 1, 2"), ("ga", "ddim", 0), ("gb", None, "0, 1, 2"), ("gb", None, 3)]
    failed = summary.rows[-1]
    assert failed["status"] == "failed: boom" and failed["run"] == ids["gb", 3] and "spread" not in failed
    single = row_of(summary, "gc")
    assert single == row_of(board, "gc"), "a single-seed row is the board's row"
    assert row_of(summary, "ga", "ddim")["run"] == ids["ga-ddim", 0], "another setting is another group"
    assert summary.rank_by == "fd-clocknet" and summary.columns == board.columns


def test_a_higher_is_better_ranking_puts_the_largest_mean_first(store, board):
    runs = store.runs(suite_run="s")
    summary = over_seeds(leaderboard.build(store, runs, "t", rank_by="ssim", per_seed=True))
    # ssim means: ga 0.7, gb 0.3, gc 0.1, ga [ddim] 0.1 (a tie keeps build's order).
    assert [(r["generator"], r.get("setting")) for r in summary.rows if r["status"] == "ok"] == [
        ("ga", None), ("gb", None), ("gc", None), ("ga", "ddim")]


def test_descriptive_columns_flags_and_a_runs_own_spread(board):
    board, _ = board
    gb = row_of(over_seeds(board), "gb")
    assert gb["ssim_kind"] == "paired, nearest-real", "differing values are joined"
    assert gb["n"] == 64 and gb["budget"] == "smoke" and gb["status"] == "ok" and gb["dataset"] == "clocks"
    assert gb["flags"] == ["fd-clocknet"], "one seed's small-N flag marks the mean"
    # KID's std over subsets and FD's sampling interval are one run's spread (even where
    # the seeds' agree): the row's spread is the seeds'.
    assert "kid-clocknet std" not in gb and gb["kid-clocknet ±"] > 0
    assert "fd-clocknet interval" not in gb and gb["fd-clocknet ±"] > 0
    gc = row_of(over_seeds(board), "gc")
    assert gc["kid-clocknet std"] == 0.001 and gc["fd-clocknet interval"] == (0.0, 10.0)


def test_a_value_some_seeds_lack_is_the_mean_of_the_others_and_said(board):
    board, _ = board
    summary = over_seeds(board)
    ga = row_of(summary, "ga")
    assert ga["kid-clocknet"] == pytest.approx(0.02)
    # 0.01 and 0.03: std 0.01 * sqrt(2), half-width t_{0.95, 1} * 0.01.
    assert ga["kid-clocknet ±"] == pytest.approx(T_95_1 * 0.01, abs=1e-6)
    assert "ga on clocks, seeds 0, 1, 2: kid-clocknet over 2 of 3 seeds (no value in the other seeds)" \
        in summary.footnotes


def test_the_footnote_says_which_spread_a_plus_minus_is(board):
    board, _ = board
    summary = over_seeds(board)
    assert summary.footnotes[:len(board.footnotes)] == board.footnotes
    [note] = [n for n in summary.footnotes if n.startswith("± over seeds")]
    assert note == ("± over seeds: the half-width of the 90% t-interval of the mean over the seeds listed "
                    "(n = 3); a single run's FD, FD∞ and KID show their sampling interval [low, high] instead")
    assert "the 95% t-interval" in " ".join(over_seeds(board, 0.95).footnotes)


def test_the_board_is_not_changed_and_one_seed_each_changes_nothing(store, board):
    board, _ = board
    before = copy.deepcopy(board)
    over_seeds(board)
    assert board == before
    store.add_suite_run("one", "planted", None, "smoke", {}, {})
    add(store, "one", "ga", 0, 1.0, 0.01)
    add(store, "one", "gb", 0, 2.0, 0.01)
    add(store, "one", "gb", 1, failed=True)  # a failed seed is no second seed of gb
    single = leaderboard.build(store, store.runs(suite_run="one"), "t", per_seed=True)
    assert over_seeds(single) == single
    assert not any("over seeds" in n for n in over_seeds(single).footnotes)


def test_budgets_are_not_mixed_and_the_single_run_clause_only_with_single_runs(store):
    store.add_suite_run("mixed", "planted", None, "smoke", {}, {})
    for seed in (0, 1):
        add(store, "mixed", "ga", seed, 1.0 + seed, 0.01)
    add(store, "mixed", "ga", 2, 5.0, 0.01, budget="quick")  # measured at another N: not a third seed
    summary = over_seeds(leaderboard.build(store, store.runs(suite_run="mixed"), "t", per_seed=True))
    assert [(r["budget"], r["seed"]) for r in summary.rows] == [("smoke", "0, 1"), ("quick", 2)]
    assert any(n.endswith("(n = 2); a single run's FD, FD∞ and KID show their sampling interval [low, high] instead")
               for n in summary.footnotes), summary.footnotes
    store.add_suite_run("all", "planted", None, "smoke", {}, {})
    for generator in ("ga", "gb"):
        for seed in (0, 1, 2):
            add(store, "all", generator, seed, 1.0 + seed, 0.01)
    summary = over_seeds(leaderboard.build(store, store.runs(suite_run="all"), "t", per_seed=True))
    assert [n for n in summary.footnotes if n.startswith("±")] == [
        "± over seeds: the half-width of the 90% t-interval of the mean over the seeds listed (n = 3)"]


def test_a_seed_the_wall_clock_guard_stopped_is_named(store):
    store.add_suite_run("capped", "planted", None, "smoke", {}, {})
    for seed, seen in enumerate([512, 256, 512]):
        add(store, "capped", "ga", seed, 1.0 + seed, 0.01,
            used={"images_seen": seen, "stopped_by": "images" if seen == 512 else "wall_clock"})
    board = leaderboard.build(store, store.runs(suite_run="capped"), "t", per_seed=True)
    [row] = over_seeds(board).rows
    assert row["capped"] == "capped at 50% (seed 1)"
    status = next(c for c in board.columns if c.key == "status")
    assert board.cell(row, status) == "ok · capped at 50% (seed 1)"
    assert row["images"] == "512/512, 256/512"


def test_a_level_outside_zero_to_one_is_refused(board):
    with pytest.raises(ValueError, match="level"):
        over_seeds(board[0], level=90)


def test_build_shows_the_seeds_as_one_row_unless_asked_per_seed(store, board, run_cli, tmp_path):
    summary = leaderboard.build(store, store.runs(suite_run="s"), "t")
    ga = row_of(summary, "ga")
    fd = next(c for c in summary.columns if c.key == "fd-clocknet")
    assert fd.spread_key == "fd-clocknet ±"
    assert summary.cell(ga, fd) == "2 ± 1.686"  # values 1, 2, 3: t(0.95, 2)·1/√3
    gc = row_of(summary, "gc")
    assert summary.cell(gc, fd) == "1.500 [0, 10]"  # a single run: its sampling interval
    store.close()
    code, out, _ = run_cli("leaderboard", "--suite-run", "s", "--db", tmp_path / "genbench.sqlite",
                           "--format", "csv", "--per-seed")
    assert code == 0 and sum(line.startswith("ga,") for line in out.splitlines()) == 4  # 3 seeds, and ga [ddim]


def test_one_generator_under_two_configs_is_two_rows_not_seeds_of_one(store):
    store.add_suite_run("cfg", "planted", None, "smoke", {}, {})
    for width, fds in ((16, (3.0, 3.2)), (64, (30.0, 31.0))):
        for seed, fd in enumerate(fds):
            run_id = f"w{width}-{seed}"
            store.add_run(id=run_id, suite_run="cfg", generator="dcgan", dataset="clocks", budget="smoke", seed=seed,
                          run_dir="/nonexistent", options={"config": {"width": width}}, given={}, env={})
            store.finish_run(run_id, "ok", {"images_seen": 512},
                             [MetricValue("fd-clocknet", fd, "min", "fd", 64, {"extractor": "clocknet"})])
    board = leaderboard.build(store, store.runs(suite_run="cfg"), "t")
    assert sorted(r["fd-clocknet"] for r in board.rows) == pytest.approx([3.1, 30.5])
    assert all(r["seed"] == "0, 1" for r in board.rows)
