"""The static HTML report: the leaderboard (sortable, directions shown), time to quality,
each run's sample grid and loss curves, the environment, and a compare table when two
sets are given. ``genbench run`` writes one next to its leaderboards.

The functions here gather what each section shows as plain data; the templates in
``templates/`` turn it into HTML, escaping every value (``page``)."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

from harness import __version__, bounds, leaderboard
from harness.atomic import write_atomic
from harness.compare.judge import Comparison
from harness.compare.render import cells, headers, summary
from harness.errors import OutputFailed, UsageError
from harness.records import ResultsStore, Run, RunDir
from harness.report import page, plots

GRID_WIDTH = 256  # px: the 64-sample grid, big enough to see a clock's hands


def _leaderboard_section(board: leaderboard.Leaderboard) -> page.Section:
    return page.Section("leaderboard", "Leaderboard", "leaderboard.html.j2", {"table": page.sortable_table(board)})


def _quality_section(store: ResultsStore, runs: list[Run], board: leaderboard.Leaderboard) -> page.Section:
    """Time to quality for the leaderboard's ranking metric (else its first quality column)."""
    section = functools.partial(page.Section, "time-to-quality", "Time to quality", "time-to-quality.html.j2")
    quality = [c for c in board.columns if c.direction and not c.timing]
    if not quality:
        return section({"figure": None, "note": "No quality metric was recorded."})
    column = next((c for c in quality if c.key == board.rank_by), quality[0])
    points = []
    for run in runs:
        value = next((m.value for m in store.metrics(run.id) if m.name == column.key), None)
        points.append({"generator": run.generator, "images_seen": run.used.get("images_seen"),
                       "wall_s": run.used.get("wall_s"), "value": value})
    png = plots.time_to_quality(points, column.key, column.direction)
    if png is None:
        return section({"figure": None, "note": f"No run recorded {column.key}."})
    return section({"figure": page.figure(png, f"{column.key} against images seen and wall time",
                                          "each dot is a run: where it ended, against the images it saw and "
                                          "the time it took"),
                    "note": "The budget stops a run at its image count or its wall clock; "
                            "training curves per run are below."})


def _run_view(store: ResultsStore, run: Run) -> dict[str, Any]:
    figures = []
    folder = RunDir(run.run_dir)
    grid = folder.samples_grid
    if grid.is_file():
        figures.append(page.figure(grid.read_bytes(), f"samples of {run.generator}", "samples", GRID_WIDTH))
    truth = folder.ground_truth_grid
    if truth.is_file():
        figures.append(page.figure(truth.read_bytes(), "ground truth", "ground truth (same conditions)",
                                   GRID_WIDTH))
    losses = plots.loss_curves(plots.curves(store.evaluations(run.id)), run.generator)
    if losses is not None:
        figures.append(page.figure(losses, f"loss curves of {run.generator}",
                                   "losses at each evaluation, against images seen and wall time"))
    note = f"{run.status}: {run.reason or ''}" if run.status != "ok" else _bound_note(run)
    if not folder.path.is_dir():  # run on another host, its --out not shared with this one
        note = f"{note}{'; ' if note else ''}{folder.unreachable(run.process)}"
    return {"id": run.id,
            "title": f"{run.generator} · {run.dataset} · seed {run.seed} · run {run.id}",
            "note": note,
            "figures": figures,
            "nothing": losses is None and not grid.is_file()}


def _bound_note(run: Run) -> str:
    """What bound a run cut short: its images against the budget and why it stopped."""
    bound = bounds.of(run)
    return f"{bound.label()}: {bound.images_text()} images" if bound.label() else ""


def _environment_section(store: ResultsStore, runs: list[Run]) -> page.Section:
    tables = []
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
        tables.append(page.Table(["", ""], items))
    return page.Section("environment", "Environment", "environment.html.j2", {"tables": tables})


def _compare_section(comparison: Comparison) -> page.Section:
    table = page.Table(headers(comparison), [cells(r) for r in comparison.rows],
                       [page.MARK_CLASSES.get(r.mark, "") for r in comparison.rows], "compare-table")
    note = (f"{comparison.base.description} → {comparison.cand.description}: {summary(comparison)}. "
            f"{comparison.policy.describe()}.")
    return page.Section("compare", "Compare", "compare.html.j2", {"note": note, "table": table})


def render(store: ResultsStore, runs: list[Run], title: str, comparison: Comparison | None = None,
           rank_by: str | None = None) -> str:
    """The page. Every string in it (names, reasons, labels, the title) is escaped by the
    templates, whoever wrote it: see ``page``."""
    if not runs:
        raise UsageError(f"the report has no runs to show: {title!r} selects none in {store.where}")
    # A row per run: the report is where each seed's curves and samples are looked at.
    board = leaderboard.build(store, runs, title, rank_by, per_seed=True)
    sections = [_leaderboard_section(board), _quality_section(store, runs, board)]
    if comparison is not None:
        sections.append(_compare_section(comparison))
    sections.append(page.Section("runs", "Runs", "runs.html.j2", {"runs": [_run_view(store, r) for r in runs]}))
    sections.append(_environment_section(store, runs))
    subtitle = f"genbench {__version__} · {len(runs)} run(s) · written {time.strftime('%Y-%m-%d %H:%M:%S')}"
    return page.document(title, subtitle, sections)


def write(path: Path, html: str) -> Path:
    """Writes atomically, so a reader never sees half a page."""
    try:
        write_atomic(path, html)
    except OSError as exc:
        raise OutputFailed(f"cannot write the report {path}: {exc.strerror or exc}") from exc
    return path
