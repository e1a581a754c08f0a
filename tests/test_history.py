"""genbench history: the series over suite runs, the lookback z-score flag on a planted
step change, the PNG plot, and its errors."""

from __future__ import annotations

import json

import pytest
from helpers import genbench
from PIL import Image

from harness import history
from harness.records import ResultsStore
from tests.planted import noisy, plant_suite


@pytest.fixture
def store(tmp_path):
    s = ResultsStore(tmp_path / "genbench.sqlite")
    yield s
    s.close()


def _plant_series(store, medians: list[float], metric: str = "fd-clocknet", **kw) -> None:
    for i, m in enumerate(medians):
        plant_suite(store, f"nightly-{i}", {metric: noisy(m, 0.005, 3, seed=i)}, started=1.8e9 + 3600 * i, **kw)


def _history(run_cli, tmp_path, *args):
    return run_cli("history", *args, "--db", tmp_path / "genbench.sqlite", "--out", tmp_path)


def test_a_planted_step_change_is_flagged_worse(store, run_cli, tmp_path):
    steady = noisy(5.0, 0.02, 10, seed=42)
    _plant_series(store, [*steady, 6.5])
    code, out, err = _history(run_cli, tmp_path, "-g", "dcgan", "-m", "fd-clocknet", "--by", "label")
    assert code == 1
    assert "nightly-10" in out and ": worse" in out and "|z| > 3 flags" in out
    assert out.count("| nightly-") == 11
    png = tmp_path / "history-dcgan-fd-clocknet.png"
    assert str(png) in err
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (800, 450)


def test_a_point_in_line_is_not_flagged(store, run_cli, tmp_path):
    _plant_series(store, noisy(5.0, 0.02, 11, seed=43))
    code, out, _ = _history(run_cli, tmp_path, "-g", "dcgan", "-m", "fd-clocknet")
    assert code == 0 and ": in line" in out


def test_an_improvement_is_flagged_better_and_passes(store, run_cli, tmp_path):
    _plant_series(store, [*noisy(1000, 0.01, 6, seed=44), 1400], metric="train_images_per_s")
    code, out, _ = _history(run_cli, tmp_path, "-g", "dcgan", "-m", "train_images_per_s", "--format", "json")
    (series,) = json.loads(out)
    assert code == 0 and series["latest"]["verdict"] == "better" and series["latest"]["z"] > 3
    assert [p["label"] for p in series["points"]] == [f"nightly-{i}" for i in range(7)]


def test_lookback_uses_only_recent_points(store):
    # An old regime at 10, then a steady 5: the latest 5.1 is in line with the last 4 points.
    _plant_series(store, [10.0, 10.2, 9.9, 5.0, 5.05, 4.95, 5.02, 5.1])
    (series,) = history.load(store, "dcgan", "fd-clocknet")
    assert history.judge_latest(series, lookback=4).verdict == "in line"
    assert history.judge_latest(series, lookback=10).z < 0


def test_short_history_is_not_judged(store, run_cli, tmp_path):
    _plant_series(store, [5.0, 9.0])
    code, out, _ = _history(run_cli, tmp_path, "-g", "dcgan", "-m", "fd-clocknet")
    assert code == 0 and "not judged (1 earlier point(s); needs 3)" in out


def test_one_series_per_dataset(store):
    _plant_series(store, [5.0, 5.1, 5.2])
    _plant_series(store, [7.0, 7.1], dataset="digits")
    series = history.load(store, "dcgan", "fd-clocknet")
    assert [(s.dataset, len(s.points)) for s in series] == [("clocks", 3), ("digits", 2)]
    assert [s.dataset for s in history.load(store, "dcgan", "fd-clocknet", dataset="digits")] == ["digits"]


def test_errors_name_what_exists(store, run_cli, tmp_path):
    _plant_series(store, [5.0])
    code, _, err = _history(run_cli, tmp_path, "-g", "dcgna", "-m", "fd-clocknet")
    assert code == 2 and "dcgna" in err and "dcgan" in err
    code, _, err = _history(run_cli, tmp_path, "-g", "dcgan", "-m", "fid")
    assert code == 2 and "its metrics: fd-clocknet" in err
    proc = genbench("history", "-g", "dcgan", "-m", "fd-clocknet", "--lookback", "1", "--db", store.path)
    assert proc.returncode == 2 and "--lookback: must be from 3 to" in proc.stderr


def test_sampler_variants_are_series_of_their_own(store):
    for i in range(3):
        plant_suite(store, f"n{i}", {"fd-clocknet": [5.0]}, generator="ddpm", setting="DDIM-50", started=1e9 + i)
        plant_suite(store, f"n{i}", {"fd-clocknet": [9.0]}, generator="ddpm", setting="DDPM-1000", started=1e9 + i)
    series = history.load(store, "ddpm", "fd-clocknet")
    assert sorted((s.setting, [p.median for p in s.points]) for s in series) == [
        ("DDIM-50", [5.0] * 3), ("DDPM-1000", [9.0] * 3)]
    assert any(s.title.startswith("ddpm [DDIM-50] · clocks") for s in series)


def test_capped_runs_are_a_series_of_their_own_and_never_judged(store):
    """A run its budget's wall clock cut short measures the machine's speed: however far
    it lands from the history, it is no regression of the model (docs/budgets.md)."""
    for median in (5.0, 5.1, 4.9, 5.0, 5.05):
        plant_suite(store, None, {"fd-clocknet": noisy(median, 0.01, 3, seed=int(median * 100))}, stopped_by="images")
    for median in (5.0, 30.0):
        plant_suite(store, None, {"fd-clocknet": noisy(median, 0.01, 3, seed=7)}, stopped_by="wall_clock")
    reached, capped = sorted(history.load(store, "dcgan", "fd-clocknet"), key=lambda s: s.capped)
    assert len(reached.points) == 5 and len(capped.points) == 2
    assert capped.title.endswith("· capped runs")
    assert history.judge_latest(reached).verdict == "in line"
    flag = history.judge_latest(capped)
    assert flag.verdict == history.CAPPED and "capped by their budget's wall clock" in flag.describe(3.0)


def test_a_budget_redefined_under_its_name_starts_a_new_series(store):
    from harness.budgets import NAMED

    old = NAMED["quick"].as_dict() | {"images": 96_000, "wall_clock_s": 60}
    plant_suite(store, None, {"fd-clocknet": [5.0, 5.1]}, stopped_by="images", given=old)
    plant_suite(store, None, {"fd-clocknet": [9.0, 9.1]}, stopped_by="images")
    titles = sorted(s.title for s in history.load(store, "dcgan", "fd-clocknet"))
    assert titles == ["dcgan · clocks · budget quick (48,000 images, 75 s guard) · fd-clocknet",
                      "dcgan · clocks · budget quick (96,000 images, 60 s guard) · fd-clocknet"]
