"""genbench report without a browser: the page is self-contained, shows what was selected
and the compare table when asked, and bad input exits 2."""

from __future__ import annotations

import json
import re

import pytest

from harness.records import ResultsStore
from harness.report import plots
from tests.helpers import run_suite, tiny_suite
from tests.planted import plant_suite


@pytest.fixture
def db(tmp_path):
    store = ResultsStore(tmp_path / "genbench.sqlite")
    plant_suite(store, "base", {"fd-clocknet": [5.0, 5.1, 5.2], "ssim": [0.8, 0.81, 0.79]})
    plant_suite(store, "cand", {"fd-clocknet": [7.0, 7.1, 7.2], "ssim": [0.8, 0.81, 0.79]})
    store.close()
    return tmp_path / "genbench.sqlite"


def test_report_is_self_contained_with_a_row_per_run(db, tmp_path, run_cli):
    code, out, _ = run_cli("report", "base", "cand", "--db", db, "--out", tmp_path / "rep")
    html = (tmp_path / "rep" / "report.html").read_text()
    assert code == 0 and "6 run(s)" in out
    assert html.count('<tr data-run="') == 6
    # Nothing is fetched from anywhere: every src and href is inline or an anchor.
    for attr, value in re.findall(r'\b(src|href)="([^"]*)"', html):
        assert value.startswith(("data:", "#")), (attr, value)
    assert 'data-key="fd-clocknet" data-direction="min"' in html
    assert 'data-key="ssim" data-direction="max"' in html
    assert 'id="compare"' not in html


def test_report_with_compare_marks_the_regression(db, tmp_path, run_cli):
    code, _, _ = run_cli("report", "base", "cand", "--compare", "base", "cand", "--db", db,
                         "--html", tmp_path / "page.html")
    html = (tmp_path / "page.html").read_text()
    assert code == 0 and 'id="compare-table"' in html
    (row,) = re.findall(r'<tr class="mark-worse">(.*?)</tr>', html)
    assert "fd-clocknet" in row and "1 worse" in html


def test_latest_suite_run_by_default(db, tmp_path, run_cli):
    code, out, _ = run_cli("report", "--db", db, "--out", tmp_path / "rep")
    assert code == 0 and "3 run(s)" in out and (tmp_path / "rep" / "report-planted.html").is_file()


def test_report_errors(db, tmp_path, run_cli):
    code, _, err = run_cli("report", "nope", "--db", db, "--out", tmp_path / "rep")
    assert code == 2 and "'nope' matches no run" in err and "base" in err
    code, _, err = run_cli("report", "--db", tmp_path / "missing.sqlite", "--out", tmp_path / "rep")
    assert code == 2 and "no results database" in err
    code, _, err = run_cli("report", "--suite", "standard", "--db", db, "--out", tmp_path / "rep")
    assert code == 2 and "no suite 'standard'" in err


def test_loss_curve_keeps_every_logged_point(tmp_path):
    """The final evaluation lands at the images seen of the last scheduled one; merging
    it into that row keeps the training losses logged there (issue: the curve stopped one
    point early, a single dot under smoke)."""
    store, _, (outcome,) = run_suite(tmp_path, tiny_suite({}))
    run_id = outcome.run_id
    logged = [json.loads(line) for line in (outcome.run_dir / "stats.jsonl").read_text().splitlines()]
    with_loss = [r["images_seen"] for r in logged if "train/loss" in r]
    assert len(with_loss) >= 2 and logged[-1]["final"] and logged[-1]["images_seen"] == with_loss[-1]
    curve = plots.curves(store.evaluations(run_id))["train/loss"]
    assert [images for images, _, _ in curve] == with_loss
    assert store.evaluations(run_id)[-1].values["final"] is True
