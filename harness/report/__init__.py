"""The static HTML report: the leaderboard (sortable, directions shown), time to quality,
each run's sample grid and loss curves, the environment, and a compare table when two
sets are given. ``genbench run`` writes one next to its leaderboards."""

from __future__ import annotations

import json
import time
from pathlib import Path

from harness import __version__, leaderboard
from harness.atomic import write_atomic
from harness.compare.judge import Comparison
from harness.compare.render import cells, headers, summary
from harness.errors import UsageError
from harness.records import ResultsStore, Run, RunDir
from harness.report import page, plots

GRID_WIDTH = 256  # px: the 64-sample grid, big enough to see a clock's hands


def _leaderboard_section(board: leaderboard.Leaderboard) -> str:
    return ('<p class="note">Click a column header to sort (best first, again to reverse). '
            "↓ lower is better, ↑ higher is better.</p>" + page.leaderboard_table(board))


def _quality_section(store: ResultsStore, runs: list[Run], board: leaderboard.Leaderboard) -> str:
    """Time to quality for the leaderboard's ranking metric (its first quality column)."""
    quality = [c for c in board.columns if c.direction and not c.timing]
    if not quality:
        return '<p class="note">No quality metric was recorded.</p>'
    column = quality[0]
    points = []
    for run in runs:
        value = next((m.value for m in store.metrics(run.id) if m.name == column.key), None)
        points.append({"generator": run.generator, "images_seen": run.used.get("images_seen"),
                       "wall_s": run.used.get("wall_s"), "value": value})
    png = plots.time_to_quality(points, column.key, column.direction)
    if png is None:
        return f'<p class="note">No run recorded {column.key}.</p>'
    return (page.image(png, f"{column.key} against images seen and wall time",
                       "each dot is a run: where it ended, against the images it saw and the time it took")
            + '<p class="note">The budget stops a run at its image count or its wall clock; '
              "training curves per run are below.</p>")


def _run_section(store: ResultsStore, run: Run) -> str:
    title = f"{run.generator} · {run.dataset} · seed {run.seed} · run {run.id}"
    parts = [f'<article id="run-{page.escape(run.id)}"><h3>{page.escape(title)}</h3>']
    if run.status != "ok":
        parts.append(f'<p class="note">{page.escape(run.status)}: {page.escape(run.reason or "")}</p>')
    folder = RunDir(run.run_dir)
    grid = folder.samples_grid
    if grid.is_file():
        parts.append(page.image(grid.read_bytes(), f"samples of {run.generator}", "samples", GRID_WIDTH))
    truth = folder.ground_truth_grid
    if truth.is_file():
        parts.append(page.image(truth.read_bytes(), "ground truth", "ground truth (same conditions)", GRID_WIDTH))
    losses = plots.loss_curves(plots.curves(store.evaluations(run.id)), run.generator)
    if losses is not None:
        parts.append(page.image(losses, f"loss curves of {run.generator}",
                                "losses at each evaluation, against images seen and wall time"))
    elif not grid.is_file():
        parts.append('<p class="note">Nothing to show: no samples or losses were recorded.</p>')
    return "".join(parts) + "</article>"


def _environment_section(store: ResultsStore, runs: list[Run]) -> str:
    out = []
    for suite_run in dict.fromkeys(r.suite_run for r in runs):
        record = store.suite_run(suite_run)
        if record is None:
            continue
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started))
        items = [["suite run", f"{suite_run} ({record.suite}, budget {record.budget}, started {started})"],
                 ["label", record.label or ""]]
        items += [[k, json.dumps(v) if isinstance(v, (dict, list)) else str(v)] for k, v in record.env.items()
                  if k != "versions"]
        items += [[f"version of {k}", str(v)] for k, v in record.env.get("versions", {}).items()]
        out.append(page.plain_table(["", ""], items))
    return "".join(out)


def _compare_section(comparison: Comparison) -> str:
    rows = [cells(r) for r in comparison.rows]
    classes = [page.MARK_CLASSES.get(r.mark, "") for r in comparison.rows]
    return (f'<p class="note">{page.escape(comparison.base.description)} → '
            f"{page.escape(comparison.cand.description)}: {page.escape(summary(comparison))}. "
            f"{page.escape(comparison.policy.describe())}.</p>"
            + page.plain_table(headers(comparison), rows, classes, "compare-table"))


def render(store: ResultsStore, runs: list[Run], title: str, comparison: Comparison | None = None) -> str:
    if not runs:
        raise UsageError("the report has no runs to show")
    board = leaderboard.build(store, runs, title)
    sections = [("leaderboard", "Leaderboard", _leaderboard_section(board)),
                ("time-to-quality", "Time to quality", _quality_section(store, runs, board))]
    if comparison is not None:
        sections.append(("compare", "Compare", _compare_section(comparison)))
    sections.append(("runs", "Runs", "".join(_run_section(store, r) for r in runs)))
    sections.append(("environment", "Environment", _environment_section(store, runs)))
    subtitle = f"genbench {__version__} · {len(runs)} run(s) · written {time.strftime('%Y-%m-%d %H:%M:%S')}"
    return page.document(title, subtitle, sections)


def write(path: Path, html: str) -> Path:
    """Writes atomically, so a reader never sees half a page."""
    try:
        write_atomic(path, html)
    except OSError as exc:
        raise UsageError(f"cannot write the report {path}: {exc.strerror}") from exc
    return path
