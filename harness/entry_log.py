"""One line per suite entry on stderr, as it starts and as it ends: what a log or a CI job
shows of a suite, where the progress bar (a terminal's) does not.

    genbench: [3/10] dcgan · clocks · seed 0: started
    genbench: [3/10] dcgan · clocks · seed 0: ok · 45,376/96,000 img (47%, wall clock) · 61.2 s · fd-clocknet 297.3
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.cells import cell_len, set_cell_size

from harness import bounds
from harness.bounds import Bound, percent
from harness.errors import one_line
from harness.leaderboard import format_value, ranking_metric, run_ranking
from harness.records import ResultsStore, Run

PREFIX = "genbench: "


class EntryLog:
    """Writes the lines to ``stream``; on a terminal, each is cut to ``width`` so that it
    never wraps (a log keeps the whole line)."""

    def __init__(self, store: ResultsStore, stream: TextIO | None = None, width: int | None = None) -> None:
        self.store, self.stream, self.width = store, stream or sys.stderr, width

    def started(self, k: int, n: int, run: Run) -> None:
        self._write(f"[{k}/{n}] {describe(run)}: started")

    def ended(self, k: int, n: int, run_ids: list[str]) -> None:
        """The entry's runs as recorded: the one that trains, then its sampler variants."""
        for run_id in run_ids:
            run = self.store.run(run_id)
            self._write(f"[{k}/{n}] {describe(run)}: {outcome(self.store, run)}")

    def note(self, k: int, n: int, run: Run, text: str) -> None:
        """Something that happened to a running entry (an executor retried it)."""
        self._write(f"[{k}/{n}] {describe(run)}: {text}")

    def _write(self, line: str) -> None:
        line = PREFIX + one_line(line)
        if self.width is not None and cell_len(line) > self.width:  # cells: a CJK character takes two
            line = set_cell_size(line, self.width - 1) + "…"
        print(line, file=self.stream, flush=True)


def describe(run: Run) -> str:
    return f"{run.subject} · {run.dataset} · seed {run.seed}"


def outcome(store: ResultsStore, run: Run) -> str:
    """How a finished run ended, in one line: status, images against the budget, wall
    time and the metric that ranks it."""
    step = f" at step {run.failed_step}" if run.failed_step else ""
    status = run.status if run.status != "failed" else f"failed{step}: {run.reason}"
    parts = [status, images(bounds.of(run))]
    if run.used.get("wall_s") is not None:
        parts.append(f"{run.used['wall_s']:.1f} s")
    ranked = ranking_metric(store.metrics(run.id), run_ranking(run)) if run.status == "ok" else None
    if ranked is not None:
        parts.append(f"{ranked.name} {format_value(ranked.value)}")
    return " · ".join(p for p in parts if p)


def images(bound: Bound) -> str:
    """Images seen against the budget, and what stopped training when it was not the budget."""
    if bound.kind == "no_training":
        return "no training"
    text = bound.images_text()
    if not text:
        return ""
    if bound.budget_kind == "time":
        return f"{text} img (time budget)"
    return f"{text} img ({bound.label() or percent(bound.share)})"
