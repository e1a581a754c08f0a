"""A leaderboard over seeds: the rows of one generator run with several seeds become one
row with the mean of each metric and the half-width of its t-interval over the seeds.

A table of single runs says nothing about how much a number moves with the seed; the
mean and its interval do, and a footnote says which spread the ± is."""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any

from harness.leaderboard import Leaderboard

# What a ± means on the rows that stay single runs (printed only when some do).
SINGLE_RUN_SPREAD = "a single run's FD, FD∞ and KID show their sampling interval [low, high] instead"


def over_seeds(board: Leaderboard, level: float = 0.9) -> Leaderboard:
    """``board`` with each group of ``ok`` rows of one generator, setting, dataset and
    budget that has more than one distinct seed collapsed into one row, re-ranked.

    In a collapsed row a metric or timing column holds the mean over the seeds that have
    a value, and ``"<key> ±"`` the half-width of the two-sided ``level`` Student-t
    interval of that mean (with two values or more); ``seed`` is the seeds as text
    ("0, 1, 2"), ``seeds`` and ``runs`` the seeds and run ids as lists, ``run`` the first
    run's id, ``flags`` the union of the runs' flags and ``spread`` is ``"seeds"``. A
    descriptive column keeps its value where the seeds agree, else their values joined
    with ", ". Failed runs and single-seed groups stay as they are; ``board`` is not
    changed."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in board.rows:
        if row.get("status") == "ok":
            groups.setdefault(_group(row), []).append(row)
    ok: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    notes: list[str] = []
    done: set[tuple] = set()
    sizes: list[int] = []
    for row in board.rows:
        members = groups.get(_group(row), []) if row.get("status") == "ok" else []
        seeds = [r.get("seed") for r in members]
        if len(set(seeds)) < 2 or len(set(seeds)) < len(seeds):  # a seed twice: not seeds of one thing
            # A failed seed keeps its own row (its reason is its own), after the ok rows.
            (ok if members else rest).append(row)
        elif _group(row) not in done:
            done.add(_group(row))
            merged, partial = _merged(board, members, level)
            ok.append(merged)
            sizes.append(len(members))
            if partial:
                notes.append(f"{_who(merged)}: {', '.join(partial)} (no value in the other seeds)")
    if sizes:
        single = any(r.get("spread") is None for r in ok)
        ns = ", ".join(map(str, sorted(set(sizes))))
        notes.insert(0, f"± over seeds: the half-width of the {level * 100:g}% t-interval of the mean over the "
                        f"seeds listed (n = {ns})" + (f"; {SINGLE_RUN_SPREAD}" if single else ""))
    rows = _ranked(board, ok) + rest
    return dataclasses.replace(board, columns=list(board.columns), rows=rows,
                               footnotes=list(board.footnotes) + notes, rankings=dict(board.rankings))


def _group(row: dict[str, Any]) -> tuple:
    # The budget too: a smoke and a quick run of one generator (``--runs`` can pick both)
    # are measured at different N, and FD depends on N.
    # And the suite run: two suite runs of one generator (a baseline and a candidate) are
    # two things to compare, not seeds of one.
    # And the config: one generator listed twice with other settings is two things.
    return (row.get("generator"), row.get("setting"), row.get("dataset"), row.get("budget"), row.get("suite_run"),
            row.get("variant"))


def _merged(board: Leaderboard, members: list[dict[str, Any]], level: float) -> tuple[dict[str, Any], list[str]]:
    """One row for ``members`` (their seeds' runs), and the columns some seeds lack."""
    from scipy import stats  # here: importing scipy would cost every other command 0.6 s at start-up

    members = sorted(members, key=lambda r: r["seed"])
    numeric = {c.key for c in board.columns if c.direction is not None}
    descriptive = {c.key for c in board.columns if c.direction is None} | {"budget"}
    # A run's own sampling spread (KID's std over subsets, an FD's interval) is not the
    # spread over seeds: one spread per cell, and in this row it is the seeds'.
    own_spread = {k for c in board.columns for k in (c.std_key, c.interval_key) if k}
    row: dict[str, Any] = {}
    partial = []
    for key in dict.fromkeys(k for r in members for k in r):
        values = [r.get(key) for r in members]
        if key in numeric:
            present = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            row[key] = statistics.fmean(present) if present else None
            if len(present) >= 2:
                t = float(stats.t.ppf((1 + level) / 2, len(present) - 1))
                row[f"{key} ±"] = t * statistics.stdev(present) / math.sqrt(len(present))
            if 0 < len(present) < len(members):
                partial.append(f"{key} over {len(present)} of {len(members)} seeds")
        elif key in descriptive:
            distinct = [v for i, v in enumerate(values) if v not in values[:i]]
            row[key] = distinct[0] if len(distinct) == 1 else ", ".join("n/a" if v is None else str(v)
                                                                         for v in distinct)
        elif key not in own_spread and all(v == values[0] for v in values):
            row[key] = values[0]  # anything else is kept only where the seeds agree on it
    row["seeds"] = [r["seed"] for r in members]
    row["seed"] = ", ".join(map(str, row["seeds"]))
    row["runs"] = [r["run"] for r in members]
    row["run"] = row["runs"][0]  # the row's id: the report's data-run, the closing summary's lookup
    row["flags"] = list(dict.fromkeys(f for r in members for f in r.get("flags", ())))
    row["spread"] = "seeds"
    labels = [r.get("capped") or "" for r in members]
    if len(set(labels)) > 1:  # a seed the wall-clock guard stopped saw fewer images: say which
        row["capped"] = "; ".join(f"{r['capped']} (seed {r['seed']})" for r in members if r.get("capped"))
    return row, partial


def _ranked(board: Leaderboard, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (all ok) in ``build``'s order: datasets in the order they come, each by
    its ranking metric, best first, rows without a value last. The sort is stable, so
    ties keep the order ``build`` gave them."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    direction = {c.key: c.direction for c in board.columns}

    def order(row: dict[str, Any]) -> tuple:
        key = board.rankings.get(row["dataset"])
        value = row.get(key) if key else None
        sign = -1 if key and direction.get(key) == "max" else 1
        return datasets.index(row["dataset"]), value is None, sign * value if value is not None else 0

    return sorted(rows, key=order)


def _who(row: dict[str, Any]) -> str:
    setting = f" [{row['setting']}]" if row.get("setting") else ""
    return f"{row['generator']}{setting} on {row['dataset']}, seeds {row['seed']}"
