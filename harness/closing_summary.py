"""The few lines ``genbench run`` ends with (on stderr, after the leaderboard): where the
results are, the best row and how the trained rows stand against the ``gaussian``
baseline, and the commands a user reaches for next."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TextIO

from harness.leaderboard import ARROWS, Column, Leaderboard
from harness.records import Run

BASELINE = "gaussian"  # a per-pixel Gaussian fit to the data: what a trained model must beat


@dataclass(frozen=True)
class Where:
    """The files a suite run wrote."""

    leaderboards: list[Path]
    database: str  # the SQLite file, or the server's URL without its password
    report: Path | None


def lines(board: Leaderboard, runs: list[Run], where: Where, suite: str, suite_run: str,
          rerun: list[str]) -> list[str]:
    """The summary of ``suite_run`` (of ``suite``); ``rerun`` is the ``genbench run``
    arguments that chose this suite."""
    ok = sum(r.status == "ok" for r in runs)
    out = [f"genbench: {ok} of {len(runs)} run(s) ok", *(f"  {line}" for line in _standing(board, runs)),
           "results:"]
    if where.report is not None:
        out.append(f"  report       {where.report}")
    out.append(f"  leaderboard  {_files(where.leaderboards)}")
    out.append(f"  database     {where.database}")
    label = f"{suite}-seeds3"
    out.append("next:")
    if where.report is not None:
        out.append(f"  open the report       python -m webbrowser {shlex.quote(where.report.resolve().as_uri())}")
    out.append(f"  re-run with 3 seeds   {shlex.join(['genbench', 'run', *rerun, '--seeds', '3', '--label', label])}")
    out.append(f"  compare with this run {shlex.join(['genbench', 'compare', suite_run, label, *_store_args(rerun)])}")
    return out


def _files(paths: list[Path]) -> str:
    """``a/leaderboard-quick.{md,csv,json}``: one name, its formats."""
    if len(paths) == 1:
        return str(paths[0])
    return f"{paths[0].with_suffix('')}.{{{','.join(p.suffix[1:] for p in paths)}}}"


def write(summary: list[str], stream: TextIO | None = None) -> None:
    """Prints the summary; on a terminal, long lines wrap at its width between words,
    so that the terminal never breaks one mid-word."""
    stream = stream or sys.stderr
    if not stream.isatty():
        print("\n".join(summary), file=stream, flush=True)
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False)
    for line in summary:
        console.print(Text(line, overflow="fold"), crop=False)


def _store_args(rerun: list[str]) -> list[str]:
    """The --out and --db of the run, which compare needs to find the same database."""
    kept = []
    for flag, value in pairwise(rerun):
        if flag in ("--out", "--db"):
            kept += [flag, value]
    return kept


def _standing(board: Leaderboard, runs: list[Run]) -> list[str]:
    """The best row and the rows against the baseline: for each dataset by its own
    ranking metric (an FD on one dataset says nothing of one on another)."""
    if len(board.rankings) <= 1:
        return _standing_of(board, board.rows, board.rank_by, runs)
    return [line for dataset, key in board.rankings.items()
            for line in _standing_of(board, [r for r in board.rows if r["dataset"] == dataset], key, runs)]


def _standing_of(board: Leaderboard, rows: list[dict], key: str | None, runs: list[Run]) -> list[str]:
    ranked = [r for r in rows if r["status"] == "ok" and key is not None and r.get(key) is not None]
    if not ranked:
        return [] if key is None else [f"no run has a value of {key}"]
    column = next(c for c in board.columns if c.key == key)
    # A run trained if it took a step: a baseline takes none, nor does a run that failed
    # before its first.
    trained = {r.id for r in runs if r.used.get("steps", 0) > 0}
    # A baseline (train-copy: the training images themselves) can lead the table; the
    # best of what was trained is the news.
    best = next((r for r in ranked if r["run"] in trained), None)
    what = "best trained"
    if best is None:
        best, what = ranked[0], "best"
    out = [f"{what}: {_who(best)}: {key} {board.cell(best, column)} {ARROWS.get(column.direction or '', '')}".rstrip()]
    baselines = {r["dataset"]: r for r in reversed(ranked) if r["generator"] == BASELINE}
    if baselines and any(r["run"] in trained and r["dataset"] in baselines for r in rows):
        out.append(_against_baseline([r for r in rows if r["run"] in trained], baselines, board, column))
    return out


def _against_baseline(trained: list[dict], baselines: dict[str, dict], board: Leaderboard, column: Column) -> str:
    sign = 1 if column.direction == "min" else -1
    behind = [r for r in trained if r["dataset"] in baselines and not (
        r["status"] == "ok" and r.get(column.key) is not None
        and sign * r[column.key] < sign * baselines[r["dataset"]][column.key])]
    compared = [r for r in trained if r["dataset"] in baselines]
    values = ", ".join(board.cell(b, column) for b in baselines.values())
    text = f"{len(compared) - len(behind)} of {len(compared)} trained rows ahead of the {BASELINE} baseline ({values})"
    if behind:
        text += f"; not ahead: {', '.join(_who(r) for r in behind)}"
    return text


def _who(row: dict) -> str:
    setting = f" [{row['setting']}]" if row.get("setting") else ""
    capped = f" ({row['capped']})" if row.get("capped") else ""
    seeds = "seeds" if row.get("seeds") else "seed"
    return f"{row['generator']}{setting} on {row['dataset']}, {seeds} {row['seed']}{capped}"
