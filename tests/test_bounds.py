"""What bound a run: a budget's kind, a row cut short by the wall-clock guard marked
capped with its share everywhere a row is shown, and a time budget tied to its device."""

from __future__ import annotations

import pytest
import torch

from harness import bounds, budgets, leaderboard
from harness.errors import UsageError
from harness.plugins import Host
from harness.records import ResultsStore
from harness.reporters import CsvReporter, MarkdownReporter
from harness.training import Trainer
from tests.planted import DEVICE, plant_suite


@pytest.mark.parametrize("share,text", [(1.0, "100%"), (0.99999, "99%"), (0.4726, "47%"), (0.027, "2.7%"),
                                        (0.0999, "9.9%"), (0.0004, "0.0%")])
def test_a_share_is_rounded_down_so_that_a_short_run_never_reads_100(share, text):
    assert bounds.percent(share) == text


@pytest.mark.parametrize("stopped_by,kind,bound,label", [
    ("images", "images", "budget", ""),
    ("wall_clock", "images", "capped", "capped at 47%"),
    ("wall_clock", "time", "budget", ""),
    ("early_stopping", "images", "early_stopping", "early stop at 47%"),
    ("early_stopping", "time", "early_stopping", "early stop"),
    ("no_training", "images", "no_training", ""),
    (None, "images", "unknown", ""),
])
def test_what_bound_a_run(stopped_by, kind, bound, label):
    b = bounds.from_values(45_376, 96_000, stopped_by, kind)
    assert (b.kind, b.label(), b.capped) == (bound, label, bound == "capped")


@pytest.fixture
def store(tmp_path):
    s = ResultsStore(tmp_path / "genbench.sqlite")
    yield s
    s.close()


def _board(store, runs_of):
    return leaderboard.build(store, store.runs(suite_run=runs_of), "quick · S")


def test_a_capped_row_says_so_with_its_share_in_every_format(store):
    capped = plant_suite(store, None, {"fd-clocknet": [30.0]}, stopped_by="wall_clock")
    board = _board(store, capped)
    row = board.rows[0]
    status = next(c for c in board.columns if c.key == "status")
    images = next(c for c in board.columns if c.key == "images")
    assert board.cell(row, status) == "ok · capped at 2.0%"  # 1,000 of the quick budget's 48,000
    assert board.cell(row, images) == "1,000/48,000"
    assert any(note.startswith("capped at N%: training stopped at its budget's wall-clock guard (75 s)")
               for note in board.footnotes)
    markdown = MarkdownReporter().render(board)
    assert "ok · capped at 2.0%" in markdown and "1,000/48,000" in markdown
    assert "ok · capped at 2.0%" in CsvReporter().render(board)
    assert row["images_seen"] == 1000 and row["images_budget"] == 48_000 and row["bound"] == "capped"


def test_a_row_that_reached_its_budget_is_plain_ok(store):
    done = plant_suite(store, None, {"fd-clocknet": [5.0]}, stopped_by="images")
    board = _board(store, done)
    status = next(c for c in board.columns if c.key == "status")
    assert board.cell(board.rows[0], status) == "ok"
    assert not any("capped" in note for note in board.footnotes)


def test_the_title_names_the_budget_its_kind_and_the_device(store):
    images = _board(store, plant_suite(store, None, {"fd-clocknet": [5.0]}, stopped_by="images"))
    assert images.title == f"quick · S · budget quick: 48,000 images (wall-clock guard 75 s) · on {DEVICE}"
    given = budgets.NAMED["quick"].as_dict() | {"kind": "time"}
    timed = _board(store, plant_suite(store, None, {"fd-clocknet": [5.0]}, stopped_by="wall_clock", given=given))
    assert timed.title == f"quick · S · budget quick: 75 s per run (a time budget) · on {DEVICE}"
    status = next(c for c in timed.columns if c.key == "status")
    assert timed.cell(timed.rows[0], status) == "ok"  # its wall clock is the budget, not a cap


def test_runs_recorded_before_budgets_had_kinds_read_as_images_budgets(store):
    old = budgets.NAMED["quick"].as_dict()
    del old["kind"]
    capped = plant_suite(store, None, {"fd-clocknet": [30.0]}, stopped_by="wall_clock", given=old)
    assert bounds.of(store.runs(suite_run=capped)[0]).capped


def test_a_budget_file_declares_its_kind(tmp_path):
    path = tmp_path / "t60.toml"
    path.write_text('kind = "time"\nwall_clock_s = 60\neval_every = 1000\nn_samples = 64\n')
    budget = budgets.resolve(str(path))
    assert budget.kind == "time" and budget.images == budgets.TIME_CEILING
    path.write_text('base = "quick"\nkind = "time"\n')  # the base's images are no ceiling of a time budget
    assert budgets.resolve(str(path)).images == budgets.TIME_CEILING
    path.write_text('base = "smoke"\nkind = "hours"\n')
    with pytest.raises(UsageError, match="kind 'hours' is not a budget kind; expected one of images, time"):
        budgets.resolve(str(path))


def test_the_named_budgets_are_images_budgets():
    """smoke, quick and standard are reproducible anywhere (docs/budgets.md)."""
    assert {b.kind for b in budgets.NAMED.values()} == {"images"}


class _Log:
    def evaluation(self, record):
        pass

    def checkpoint(self, images_seen, state):
        return None


def test_a_time_budget_trains_for_its_seconds_not_its_images(clock_data):
    gen = Host().generator("clock")(clock_data, torch.device("cpu"), {})
    budget = budgets.Budget("t", images=budgets.TIME_CEILING, wall_clock_s=0.5, eval_every=10**9, n_samples=16,
                            kind="time")
    state = Trainer(gen, clock_data, budget, 0, _Log(), show_progress=False).run()
    assert state.stopped_by == "wall_clock" and state.images_seen > 0
    bound = bounds.from_values(state.images_seen, budget.images, state.stopped_by, budget.kind)
    assert bound.kind == "budget" and not bound.capped


def test_the_report_shows_images_seen_and_capped_for_every_row(store):
    from harness import report

    capped = plant_suite(store, None, {"fd-clocknet": [30.0]}, stopped_by="wall_clock")
    html = report.render(store, store.runs(suite_run=capped), "t", None)
    assert "images seen" in html and "1,000/48,000" in html and "ok · capped at 2.0%" in html


def test_a_title_over_two_definitions_of_one_budget_names_both(store):
    old = budgets.NAMED["quick"].as_dict() | {"images": 96_000, "wall_clock_s": 60}
    first = plant_suite(store, None, {"fd-clocknet": [5.0]}, stopped_by="images", given=old)
    second = plant_suite(store, None, {"fd-clocknet": [5.0]}, stopped_by="images")
    title = bounds.describe_budget(store.runs(suite_run=first) + store.runs(suite_run=second))
    assert title == ("budget quick: 48,000 images (wall-clock guard 75 s) · budget quick: 96,000 images "
                     f"(wall-clock guard 60 s) · on {DEVICE}")
