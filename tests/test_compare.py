"""genbench compare on planted data: a real regression is called with exit code 1, a
noise-level change is not, a different extractor is not comparable, and bad input
exits 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.budgets import NAMED
from harness.compare import judge, policy, sources
from harness.compare.stats import Sample, p_value, ratio, smallest_p
from harness.records import ResultsStore
from tests.planted import noisy, plant_suite


@pytest.fixture
def store(tmp_path):
    s = ResultsStore(tmp_path / "genbench.sqlite")
    yield s
    s.close()


def _compare(run_cli, tmp_path, *args):
    code, out, err = run_cli("compare", *args, "--db", tmp_path / "genbench.sqlite")
    return code, out, err


def _row(out: str, metric: str) -> list[str]:
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 3 and cells[3] == metric:
            return cells
    raise AssertionError(f"no row for {metric} in:\n{out}")


def test_a_20_percent_slower_throughput_over_5_seeds_is_a_regression(store, run_cli, tmp_path):
    plant_suite(store, "base", {"train_images_per_s": noisy(1000, 0.02, 5, seed=1),
                                "fd-clocknet": noisy(5.0, 0.03, 5, seed=2)})
    plant_suite(store, "cand", {"train_images_per_s": noisy(800, 0.02, 5, seed=3),
                                "fd-clocknet": noisy(5.0, 0.03, 5, seed=4)})
    code, out, _ = _compare(run_cli, tmp_path, "base", "cand")
    assert code == 1
    row = _row(out, "train_images_per_s")
    assert row[0] == "+" and row[4] == "↑"
    assert 0.75 < float(row[7]) < 0.85 and row[8] == "<1e-4"
    assert _row(out, "fd-clocknet")[0] == ""


def test_a_2_percent_noise_level_change_is_not_called(store, run_cli, tmp_path):
    plant_suite(store, "base", {"train_images_per_s": noisy(1000, 0.03, 5, seed=5)})
    plant_suite(store, "cand", {"train_images_per_s": noisy(980, 0.03, 5, seed=6)})
    code, out, _ = _compare(run_cli, tmp_path, "base", "cand")
    assert code == 0
    assert _row(out, "train_images_per_s")[0] == ""


def test_a_significant_change_below_the_factor_is_not_called(store):
    # 5% slower with almost no noise: significant, but under the 1.1 factor.
    plant_suite(store, "base", {"train_images_per_s": noisy(1000, 0.001, 5, seed=7)})
    plant_suite(store, "cand", {"train_images_per_s": noisy(950, 0.001, 5, seed=8)})
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"), policy.Policy())
    (row,) = c.rows
    assert row.p < 1e-6 and row.mark == "" and c.exit_code() == 0
    strict = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"),
                           policy.Policy(factor=1.03))
    assert strict.rows[0].mark == "+" and strict.exit_code() == 1


def test_a_large_change_that_is_not_significant_is_not_called(store):
    plant_suite(store, "base", {"fd-clocknet": [5.0, 9.0, 2.0]})
    plant_suite(store, "cand", {"fd-clocknet": [9.0, 3.0, 7.0]})
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"), policy.Policy())
    assert c.rows[0].mark == "" and "not significant" in c.rows[0].note


def test_another_extractor_is_not_comparable(store, run_cli, tmp_path):
    plant_suite(store, "base", {"fd-clocknet": noisy(5.0, 0.01, 3, seed=9)}, extractor="clocknet")
    plant_suite(store, "cand", {"fd-clocknet": noisy(9.0, 0.01, 3, seed=10)}, extractor="clocknet-v2")
    code, out, _ = _compare(run_cli, tmp_path, "base", "cand")
    row = _row(out, "fd-clocknet")
    assert row[0] == "x" and "extractor (clocknet vs clocknet-v2)" in row[9]
    assert code == 0  # not comparable is reported, not failed


@pytest.mark.parametrize("metric,field,base,cand", [
    ("train_images_per_s", "device", {"device": "CPU A"}, {"device": "GPU B"}),
    ("fd-clocknet", "n", {"n": 512}, {"n": 10_000})])
def test_other_device_or_n_is_not_comparable(store, metric, field, base, cand):
    plant_suite(store, "base", {metric: [5.0, 5.1]}, **base)
    plant_suite(store, "cand", {metric: [5.0, 5.1]}, **cand)
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"), policy.Policy())
    assert c.rows[0].mark == "x" and f"different {field}" in c.rows[0].note


def test_an_images_budget_compares_quality_across_devices(store):
    """Images seen are the same on any machine: a faster machine's FD is a real change."""
    plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1, 4.9]}, device="CPU A", stopped_by="images")
    plant_suite(store, "cand", {"fd-clocknet": [9.0, 9.1, 8.9]}, device="GPU B", stopped_by="images")
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"), policy.Policy())
    assert c.rows[0].mark == "+"


def test_a_capped_run_is_not_compared_with_one_that_reached_its_budget(store, run_cli, tmp_path):
    plant_suite(store, "base", {"fd-clocknet": [30.0, 31.0, 29.0]}, stopped_by="wall_clock")
    plant_suite(store, "cand", {"fd-clocknet": [5.0, 5.1, 4.9]}, stopped_by="images")
    code, out, _ = _compare(run_cli, tmp_path, "base", "cand")
    row = _row(out, "fd-clocknet")
    assert row[0] == "x" and "bound (capped by the wall clock vs not capped)" in row[9]
    assert code == 0


def test_capped_runs_on_another_device_are_not_comparable(store):
    """What a capped run saw depends on its machine's speed, so its device must match."""
    plant_suite(store, "base", {"fd-clocknet": [30.0, 31.0]}, stopped_by="wall_clock", device="CPU A")
    plant_suite(store, "cand", {"fd-clocknet": [5.0, 5.1]}, stopped_by="wall_clock", device="GPU B")
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"), policy.Policy())
    assert c.rows[0].mark == "x" and "device (CPU A vs GPU B)" in c.rows[0].note


def test_time_budget_rows_compare_only_on_one_device(store):
    time_budget = NAMED["quick"].as_dict() | {"name": "t60", "kind": "time"}
    first, same_cpu, other_cpu = (
        plant_suite(store, None, {"fd-clocknet": fds}, stopped_by="wall_clock", device=device, given=time_budget)
        for device, fds in (("CPU A", [5.0, 5.1]), ("CPU A", [9.0, 9.1]), ("CPU B", [9.0, 9.1])))
    c = judge.compare(sources.from_store(store, first), sources.from_store(store, other_cpu), policy.Policy())
    assert c.rows[0].mark == "x" and "device (CPU A vs CPU B)" in c.rows[0].note
    c = judge.compare(sources.from_store(store, first), sources.from_store(store, same_cpu), policy.Policy())
    assert c.rows[0].mark == "+"  # a time budget's wall clock is the budget, not a cap


def test_single_seed_falls_back_to_the_factor_and_says_so(store, run_cli, tmp_path):
    base = plant_suite(store, None, {"train_images_per_s": [1000.0]})
    cand = plant_suite(store, None, {"train_images_per_s": [800.0]})
    code, out, _ = _compare(run_cli, tmp_path, base, cand)
    row = _row(out, "train_images_per_s")
    assert code == 1 and row[0] == "+" and row[8] == ""
    assert "significance not judged" in row[9]


def test_newly_failing_is_marked_and_fails(store, run_cli, tmp_path):
    plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1, 4.9]})
    plant_suite(store, "cand", {"fd-clocknet": [5.0, 5.1, 4.9]}, failed_seeds=(0, 1, 2))
    code, out, _ = _compare(run_cli, tmp_path, "base", "cand")
    row = _row(out, "fd-clocknet")
    assert code == 1 and row[0] == "!" and "nan at step 7" in row[9]


def test_one_failing_seed_is_newly_failing_and_a_fixed_one_is_better(store):
    plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1, 4.9]})
    plant_suite(store, "cand", {"fd-clocknet": [5.0, 5.1, 4.9]}, failed_seeds=(2,))
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"), policy.Policy())
    assert [r.mark for r in c.rows] == ["!"]
    fixed = judge.compare(sources.from_store(store, "cand"), sources.from_store(store, "base"), policy.Policy())
    assert fixed.exit_code() == 0


def test_fail_on_narrows_what_counts(store, run_cli, tmp_path):
    plant_suite(store, "base", {"train_images_per_s": noisy(1000, 0.01, 5, 11), "fd-clocknet": [5.0] * 5})
    plant_suite(store, "cand", {"train_images_per_s": noisy(700, 0.01, 5, 12), "fd-clocknet": [5.0] * 5})
    assert _compare(run_cli, tmp_path, "base", "cand")[0] == 1
    assert _compare(run_cli, tmp_path, "base", "cand", "--fail-on", "fd-*")[0] == 0
    assert _compare(run_cli, tmp_path, "base", "cand", "--fail-on", "train_images_per_s")[0] == 1
    code, _, err = _compare(run_cli, tmp_path, "base", "cand", "--fail-on", "fid-typo")
    assert code == 2 and "fid-typo" in err and "fd-clocknet" in err


def test_policy_file_sets_per_metric_factors_and_ignores(store, run_cli, tmp_path):
    plant_suite(store, "base", {"train_images_per_s": noisy(1000, 0.001, 5, 13), "fd-clocknet": [5.0] * 5})
    plant_suite(store, "cand", {"train_images_per_s": noisy(950, 0.001, 5, 14), "fd-clocknet": [5.6] * 5})
    path = tmp_path / "policy.toml"
    path.write_text('factor = 1.2\n[metric."train_images_per_s"]\nfactor = 1.03\n[metric."fd-*"]\nignore = true\n')
    code, out, _ = _compare(run_cli, tmp_path, "base", "cand", "--policy", path)
    assert code == 1
    assert _row(out, "train_images_per_s")[0] == "+"
    assert _row(out, "fd-clocknet")[0] == "" and "ignored" in _row(out, "fd-clocknet")[9]
    assert "ratio passes 1.2x" in out


def test_bad_policy_and_flags_exit_2(store, run_cli, tmp_path):
    plant_suite(store, "base", {"fd-clocknet": [5.0]})
    path = tmp_path / "policy.toml"
    path.write_text("factor = 1.1\nfactr = 2\n")
    code, _, err = _compare(run_cli, tmp_path, "base", "base", "--policy", path)
    assert code == 2 and "line 2" in err and "factr" in err
    code, _, err = _compare(run_cli, tmp_path, "base", "base", "--factor", "0.9")
    assert code == 2 and "greater than 1" in err


def test_unknown_reference_names_the_labels(store, run_cli, tmp_path):
    plant_suite(store, "nightly-41", {"fd-clocknet": [5.0]})
    code, _, err = _compare(run_cli, tmp_path, "nightly-41", "nightly-42")
    assert code == 2 and "'nightly-42' matches no run" in err and "nightly-41" in err


def test_missing_and_corrupt_databases_exit_2_and_stay_untouched(run_cli, tmp_path):
    code, _, err = _compare(run_cli, tmp_path, "a", "b")
    assert code == 2 and "no results database" in err
    assert not (tmp_path / "genbench.sqlite").exists()
    (tmp_path / "genbench.sqlite").write_bytes(b"not sqlite" * 20)
    code, _, err = _compare(run_cli, tmp_path, "a", "b")
    assert code == 2 and "left untouched" in err
    assert (tmp_path / "genbench.sqlite").read_bytes() == b"not sqlite" * 20


def test_labels_collect_seeds_over_several_suite_runs(store):
    plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1]})
    plant_suite(store, "base", {"fd-clocknet": [4.9, 5.2]})
    side = sources.from_store(store, "base")
    assert side.observations[("dcgan", "clocks", "fd-clocknet")].values == [5.0, 5.1, 4.9, 5.2]


def test_json_output(store, run_cli, tmp_path):
    plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1, 5.2]})
    plant_suite(store, "cand", {"fd-clocknet": [7.0, 7.1, 7.2]})
    code, out, _ = _compare(run_cli, tmp_path, "base", "cand", "--format", "json")
    data = json.loads(out)
    assert code == 1
    (row,) = data["rows"]
    assert row["mark"] == "+" and row["baseline"]["median"] == pytest.approx(5.1)
    assert data["policy"]["factor"] == 1.1


def _bench_json(path, medians: dict[str, float], rel_std: float, rounds: int = 50, data: bool = False, seed=0):
    benches = []
    for i, (name, median) in enumerate(medians.items()):
        values = noisy(median, rel_std, rounds, seed=seed + i)
        q1, q3 = np.percentile(values, [25, 75])
        stats = {"min": min(values), "max": max(values), "mean": float(np.mean(values)),
                 "stddev": float(np.std(values, ddof=1)), "median": float(np.median(values)),
                 "iqr": float(q3 - q1), "rounds": rounds}
        if data:
            stats["data"] = values
        benches.append({"name": name, "fullname": f"bench/test_bench_ops.py::{name}", "group": "g",
                        "extra_info": {"repeats": 1}, "stats": stats})
    path.write_text(json.dumps({"machine_info": {"cpu": {"brand_raw": "Test CPU"}}, "benchmarks": benches}))
    return path


@pytest.mark.parametrize("with_data", [False, True])
def test_bench_json_regression(tmp_path, run_cli, with_data):
    a = _bench_json(tmp_path / "a.json", {"fused": 1e-3, "eager": 2e-3}, 0.02, data=with_data, seed=1)
    b = _bench_json(tmp_path / "b.json", {"fused": 1.25e-3, "eager": 2.01e-3}, 0.02, data=with_data, seed=9)
    code, out, _ = run_cli("compare", "--bench", a, b, *(["--test", "mannwhitney"] if with_data else []))
    assert code == 1
    marks = {line.split("|")[2].strip(): line.split("|")[1].strip() for line in out.splitlines()
             if line.startswith("| ") and "::" in line}
    assert marks == {"bench/test_bench_ops.py::fused": "+", "bench/test_bench_ops.py::eager": ""}


def test_bench_json_bad_input(tmp_path, run_cli):
    (tmp_path / "x.json").write_text('{"not": "a benchmark"}')
    code, _, err = run_cli("compare", "--bench", tmp_path / "x.json", tmp_path / "x.json")
    assert code == 2 and "not pytest-benchmark JSON" in err
    code, _, err = run_cli("compare", "--bench", tmp_path / "missing.json", tmp_path / "x.json")
    assert code == 2 and "missing.json" in err


def test_statistics():
    assert ratio(2.0, 3.0) == pytest.approx(1.5)
    assert ratio(-0.01, -0.02) == pytest.approx(0.0)  # KID can go below zero: relative change
    assert ratio(0.0, 0.0) == 1.0 and ratio(0.0, 1.0) == float("inf")
    same = Sample.of([3.0, 3.0, 3.0])
    assert p_value(same, same, "welch") == 1.0
    assert p_value(same, Sample.of([4.0, 4.0, 4.0]), "welch") == 0.0
    assert p_value(Sample.of([1.0]), same, "welch") is None
    assert smallest_p(3, 3, "mannwhitney") == pytest.approx(0.1)
    assert smallest_p(5, 5, "mannwhitney") == pytest.approx(2 / 252)
    s = Sample.of([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (s.median, s.spread) == (3.0, 1.0)


def test_mann_whitney_on_three_seeds_says_it_cannot_reach_alpha(store):
    plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1, 5.2]})
    plant_suite(store, "cand", {"fd-clocknet": [9.0, 9.1, 9.2]})
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"),
                      policy.Policy(test="mannwhitney"))
    assert c.rows[0].mark == "" and "cannot reach p < 0.05" in c.rows[0].note


def test_sampler_variants_of_one_model_are_separate_rows(store):
    for label, shift in (("base", 0.0), ("cand", 0.0)):
        plant_suite(store, label, {"fd-clocknet": [5.0 + shift, 5.1, 5.2]}, generator="ddpm", setting="DDIM-50")
        plant_suite(store, label, {"fd-clocknet": [9.0, 9.1, 9.2]}, generator="ddpm", setting="DDPM-1000")
    c = judge.compare(sources.from_store(store, "base"), sources.from_store(store, "cand"), policy.Policy())
    assert [(r.key[0], r.base.median) for r in c.rows] == [("ddpm [DDIM-50]", 5.1), ("ddpm [DDPM-1000]", 9.1)]
