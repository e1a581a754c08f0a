"""The leaderboard a terminal shows: it fits the width, keeps the columns that matter,
says what it hides, and prints plugin-provided text as text."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from harness.errors import UsageError
from harness.leaderboard import Column, Leaderboard
from harness.reporters import MarkdownReporter, TerminalReporter
from harness.terminal_view import CUT_MIN, View, render

LONG_REASON = "failed at step 3: train_step raised RuntimeError: " + "a very long explanation " * 8


def _board(generator: str = "dcgan", seeds: tuple[int, ...] = (0,)) -> Leaderboard:
    columns = [Column("generator", "generator"), Column("dataset", "dataset"), Column("seed", "seed"),
               Column("fd-clocknet", "fd-clocknet ↓", "min"), Column("kid-clocknet", "kid-clocknet ↓", "min",
                                                                     interval_key="kid-clocknet interval"),
               Column("fid", "fid ↓", "min"), Column("ssim", "ssim ↑", "max"), Column("ssim_kind", "ssim kind"),
               Column("train_images_per_s", "train img/s ↑", "max", timing=True),
               Column("peak_mem_mb", "peak MiB ↓", "min", timing=True), Column("status", "status")]
    rows = []
    for i, seed in enumerate(s for s in seeds for _ in range(3)):
        rows.append({"run": f"r{i}", "generator": generator if i == 0 else f"gen{i}", "dataset": "clocks",
                     "seed": seed, "fd-clocknet": 10.0 * (i + 1), "kid-clocknet": 0.5,
                     "kid-clocknet interval": (0.49, 0.51),
                     "fid": None, "ssim": 0.25, "ssim_kind": "nearest-real", "train_images_per_s": 1234.5,
                     "peak_mem_mb": 700.0, "status": LONG_REASON if i == 2 else "ok", "flags": []})
    return Leaderboard("quick · budget quick · 20261128-000000-abcd", columns, rows, ["a footnote " * 20],
                       "fd-clocknet")


def _shown(board: Leaderboard, view: View, console_width: int | None = None) -> str:
    console = Console(file=io.StringIO(), width=console_width or view.width, color_system=None)
    render(console, board, view)
    return console.file.getvalue()


def _header(text: str) -> str:
    lines = text.splitlines()
    return next(lines[i - 1] for i, line in enumerate(lines) if line.startswith("─"))


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_every_line_fits_the_width_and_the_essentials_stay(width):
    text = _shown(_board(), View(width=width))
    assert max(cell_len(line) for line in text.splitlines()) <= width
    header = _header(text)
    assert "generator" in header and "status" in header
    if width >= 60:
        assert "fd-clocknet ↓" in header
    assert "…" in text  # the long failure reason is cut, not wrapped
    assert "fid" not in header  # n/a on every row
    assert "1 column with no value in any row not shown" in " ".join(text.split())


def test_the_columns_that_matter_at_the_default_width():
    text = _shown(_board(), View())
    assert re.split(r"\s{2,}", _header(text).strip()) == [
        "generator", "dataset", "fd-clocknet ↓", "ssim ↑", "ssim kind", "train img/s ↑", "status"]
    assert "3 more columns hidden (seed, kid-clocknet, peak_mem_mb)" in text and "--wide" in text
    assert "gen2" in text and "failed at step 3" in text


@pytest.mark.parametrize("width", [40, 60, 100])
def test_a_long_wide_character_name_is_cut_and_status_and_metric_stay(width):
    text = _shown(_board(generator="宽字符" * 20 + "🎉" * 10), View(width=width))
    assert max(cell_len(line) for line in text.splitlines()) <= width
    kept = ("generator", "status", "fd-clocknet ↓") if width >= 60 else ("generator", "status")
    assert all(h in _header(text) for h in kept), text


def test_the_seed_column_shows_when_rows_differ_in_seed():
    assert "seed" in _header(_shown(_board(seeds=(0, 1)), View()))


def test_wide_shows_every_column_with_a_value_and_columns_picks_in_order():
    wide = _shown(_board(), View(wide=True), console_width=80)
    assert all(h in _header(wide) for h in ("seed", "kid-clocknet ↓", "peak MiB ↓"))
    assert "0.5000 [0.4900, 0.5100]" in wide and "fid ↓" not in _header(wide)
    picked = _shown(_board(), View(columns=("status", "generator", "peak MiB ↓", "kid-clocknet")))
    assert re.split(r"\s{2,}", _header(picked).strip()) == ["status", "generator", "peak MiB ↓", "kid-clocknet ↓"]


def test_an_unknown_column_is_an_error_or_after_a_run_a_note():
    with pytest.raises(UsageError, match=r"--columns: no column 'bogus'.*its columns are generator, dataset"):
        _shown(_board(), View(columns=("generator", "bogus")))
    text = _shown(_board(), View(columns=("generator", "bogus"), strict=False))
    assert "no column 'bogus' here (ignored)" in text


def test_plugin_text_is_printed_as_text_not_markup_or_terminal_control():
    text = _shown(_board(generator="[red]evil[/red]\x1b[2J"), View())
    assert "[red]evil[/red]?[2J" in text and "\x1b" not in text


def test_the_term_reporter_renders_plain_text_without_trailing_spaces():
    text = TerminalReporter().render(_board())
    assert "\x1b" not in text and not any(line != line.rstrip() for line in text.splitlines())
    assert text.splitlines()[0] == "quick · budget quick · 20261128-000000-abcd"


def test_the_files_and_pipes_keep_every_column():
    """--format md is the same text as before the terminal view existed: every column."""
    md = MarkdownReporter().render(_board())
    assert "| fid ↓ |" in md and "| peak MiB ↓ |" in md and LONG_REASON in md


def test_the_status_is_cut_no_shorter_than_its_minimum():
    text = _shown(_board(), View(width=50))
    cut = [line for line in text.splitlines() if "…" in line and "failed" in line]
    assert cut and len(cut[0].split("   ")[-1].strip()) >= CUT_MIN


def test_a_narrow_terminal_cuts_a_failure_reason_but_never_the_capped_share():
    board = _board()
    board.rows[1]["capped"] = "capped at 36%"
    text = _shown(board, View(width=60))
    assert "ok · capped at 36%" in text and "…" in text  # the failure reason is cut, not the share
