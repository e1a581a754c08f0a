"""Leaderboards: one row per run, one column per metric, each header naming its metric
and its direction (↑ higher is better, ↓ lower is better)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from harness import bounds
from harness.errors import UsageError
from harness.formatting import format_value
from harness.leaderboard_notes import FD_FLAG, capped_notes, interval_note, metric_notes, ranking_notes
from harness.records import MetricValue, ResultsStore, Run
from harness.timing_columns import TIMING

ARROWS = {"max": "↑", "min": "↓"}
INCEPTION = "inception"  # the extractor of FID and its KID



@dataclass
class Column:
    """One column of a :class:`Leaderboard`: which row value it shows, and how."""

    #: The row key of its value: ``generator``, ``dataset``, ``seed``, ``setting``, a
    #: metric's name (``fid``, ``ssim``, ...), ``ssim_kind``, ``n``, a timing column's
    #: name (``train_images_per_s``, ...) or ``status``.
    key: str
    #: Its heading: a metric's name with the arrow of its direction (``fid ↓``), a
    #: timing column's short name with its arrow (``train img/s ↑``), else the key.
    header: str
    #: ``"max"`` (higher is better) or ``"min"`` for a metric or timing column; None
    #: for a descriptive one (generator, seed, N, status).
    direction: str | None = None
    #: For a KID column: the row key of its standard deviation over subsets (a column of
    #: its own in CSV; the cell shows the interval instead).
    std_key: str | None = None
    #: True for a timing column (throughput, memory, wall clock), not a quality metric.
    timing: bool = False
    #: The row key of a metric's sampling interval, ``(low, high)``: shown as
    #: "value [low, high]" (``docs/metrics.md``, "Sampling uncertainty").
    interval_key: str | None = None
    #: The row key of a spread over seeds, shown as "mean ± spread" (a row that stands
    #: for several seeds; a footnote says what the spread is).
    spread_key: str | None = None


@dataclass
class Leaderboard:
    """A table of runs, ranked: what :meth:`harness.Reporter.render` formats.

    Built by the host from the results database; a reporter only reads it.
    """

    #: The heading, e.g. the suite, its budget and the suite run.
    title: str
    #: The columns to show, in order.
    columns: list[Column]
    #: One dict per run in rank order (successful runs first, each best first by its
    #: dataset's ranking metric, :attr:`rankings`), keyed by :attr:`Column.key`
    #: (``status`` is ``ok`` or ``failed...: reason``); also ``run`` (the run's id),
    #: ``budget``, ``flags`` (the FD columns computed from fewer than 2048 samples,
    #: marked †), ``<metric> std`` for a KID, ``<metric> interval`` for a metric with a
    #: sampling interval, and what bound its training (``images_seen``,
    #: ``images_budget``, ``bound``, and ``capped``: the bound in words where training
    #: stopped short, "capped at 47%" or "early stop at 62%", else "").
    #: A key missing or None is a value the run does not have.
    rows: list[dict[str, Any]]
    #: Notes to print under the table: how each dataset is ranked (where they differ),
    #: metrics unavailable and why, the small-N FD flag (†), what each SSIM kind means.
    footnotes: list[str] = field(default_factory=list)
    #: The metric the rows are ranked by (None when no run has a quality metric); with
    #: rows of datasets ranked by different metrics, the first row's.
    rank_by: str | None = None
    #: Each dataset's ranking metric: the rows of one dataset are ranked by it.
    rankings: dict[str, str] = field(default_factory=dict)

    def cell(self, row: dict[str, Any], column: Column) -> str:
        """A cell as text: its value, its interval "[low, high]" or spread "± s", the
        small-N flag for FD, and for the status what bound a run cut short."""
        value = row.get(column.key)
        if value is None and column.direction is None:
            return ""  # a descriptive column (setting, N) that does not apply to this row
        text = format_value(value)
        if column.key == "status" and row.get("capped"):
            return f"{text} · {row['capped']}"
        if value is not None and column.spread_key and row.get(column.spread_key) is not None:
            text += f" ± {format_value(row[column.spread_key])}"
        elif value is not None and column.interval_key and row.get(column.interval_key) is not None:
            low, high = row[column.interval_key]
            text += f" [{format_value(low)}, {format_value(high)}]"
        if column.key in row.get("flags", ()):
            text += FD_FLAG
        return text


_FEATURE_KINDS = ("fd", "fd-inf", "kid")  # one feature space's columns, in this order


@dataclass(frozen=True)
class _Quality:
    """What the column order needs to know of a quality metric."""

    direction: str
    kind: str
    extractor: str | None

    @property
    def domain(self) -> bool:
        """A feature-space metric in a domain network's features (FID's are Inception's)."""
        return self.extractor is not None and self.extractor != INCEPTION


def _column_order(name: str, q: _Quality, ranking: set[str], ranking_spaces: set[str]) -> tuple[int, str, int]:
    """The quality columns' order, which no installed plugin can change: the ranking
    metrics with the FD∞ and KID of their feature space first, then the other FD, FD∞ and
    KID by the name of their feature space, then SSIM, then mode coverage (classes
    covered, then the KL) and anything else, each group in name order."""
    if q.kind in _FEATURE_KINDS:
        first = name in ranking or (q.extractor is not None and q.extractor in ranking_spaces)
        return (0 if first else 1, q.extractor or name, _FEATURE_KINDS.index(q.kind))
    if name in ranking:
        return (0, name, 0)
    if q.kind == "ssim":
        return (2, "", 0)
    if q.kind == "coverage":
        return (3, q.extractor or "", q.direction == "min")
    return (4, name, 0)


def _legacy_ranking(quality: dict[str, _Quality], has_value: set[str]) -> str | None:
    """How runs recorded before each run recorded its ranking metric are ranked: the
    first FD column that has a value, a domain network's before FID, else the first
    quality column (their columns were fixed when they were measured)."""
    order = sorted(quality, key=lambda n: (quality[n].kind != "fd", not quality[n].domain, n))
    fds = [n for n in order if quality[n].kind == "fd" and n in has_value]
    return (fds or order or [None])[0]


def run_ranking(run: Run) -> str | None:
    """The metric ``run`` is ranked by, as recorded when it was planned (its suite's
    ``rank_by``, else its dataset's); None for a run recorded before genbench kept it."""
    value = run.options.get("rank_by")
    return value if isinstance(value, str) and value else None


def ranking_metric(metrics: list[MetricValue], rank_by: str | None = None) -> MetricValue | None:
    """The metric that ranks a leaderboard of one run: ``rank_by`` (the run's
    :func:`run_ranking`), or for an older run the rule it was ranked by then."""
    if rank_by is None:
        quality = {m.name: _Quality(m.direction, m.kind, m.extractor) for m in metrics if m.kind != "timing"}
        rank_by = _legacy_ranking(quality, {m.name for m in metrics if m.value is not None})
    return next((m for m in metrics if m.name == rank_by), None)


def build(store: ResultsStore, runs: list[Run], title: str, rank_by: str | None = None,
          per_seed: bool = False) -> Leaderboard:
    """A leaderboard of ``runs`` (records of ``store``).

    Each row is ranked by ``rank_by`` when given (``--rank-by``), else by the ranking
    metric its run recorded (its suite's, else its dataset's), successful runs first;
    rows of datasets ranked by different metrics are grouped by dataset. N is the number
    of samples the FD columns were computed from. The title gets the budget, its kind and
    the device (``harness.bounds.describe_budget``). The seeds of one generator are one
    row, their mean ± the spread over seeds (``harness.seed_summary``), unless
    ``per_seed``."""
    rows, quality, unavailable, small_n, capped = [], {}, {}, {}, {}
    for run in runs:
        row: dict[str, Any] = {
            "run": run.id, "generator": run.generator, "dataset": run.dataset,
            "budget": run.budget, "seed": run.seed, "status": run.status, "flags": [], "suite_run": run.suite_run,
            # Two entries of one generator with other configs are two rows, not seeds of one.
            "variant": json.dumps([run.options.get("config"), run.options.get("dataset_options")], sort_keys=True),
        }
        if run.setting:
            row["setting"] = run.setting
        if run.status == "failed":
            step = f" at step {run.failed_step}" if run.failed_step else ""
            row["status"] = f"failed{step}: {run.reason}"
        bound = bounds.of(run)
        row |= {"images": bound.images_text() or None, "images_seen": bound.seen,
                "images_budget": bound.budget if bound.budget_kind == "images" else None,
                "bound": bound.kind, "capped": bound.label()}
        if bound.capped:
            capped.setdefault(run.given.get("wall_clock_s"), None)
        for m in store.metrics(run.id):
            row[m.name] = m.value
            if m.kind == "timing":
                continue
            quality.setdefault(m.name, _Quality(m.direction, m.kind, m.extractor))
            if m.unavailable:
                missing, generators = unavailable.setdefault(m.unavailable, ({}, {}))
                missing[m.name], generators[run.generator] = None, None
            if "std" in m.details:
                row[f"{m.name} std"] = m.details["std"]
            if _interval(m.details.get("interval")) and m.value is not None:
                row[f"{m.name} interval"] = tuple(m.details["interval"])
            if m.kind == "ssim":
                row["ssim_kind"] = m.details.get("kind")
                row.setdefault("n", m.n)
            if m.kind == "fd" and m.value is not None:
                row["n"] = m.n
                if m.details.get("small_n"):
                    row["flags"].append(m.name)
                    small_n.setdefault(m.name, set()).add(min(m.n, m.details.get("n_real", m.n)))
        rows.append(row)
    rankings = _rankings(runs, rows, quality, rank_by)
    ranking = set(rankings.values())
    spaces = {quality[n].extractor for n in ranking if n in quality and quality[n].extractor}
    names = sorted(quality, key=lambda name: _column_order(name, quality[name], ranking, spaces))
    columns = [Column("generator", "generator"), Column("dataset", "dataset"), Column("seed", "seed")]
    if any("setting" in r for r in rows):  # the sampler and its steps, a staged generator's shares
        columns.append(Column("setting", "setting"))
    for name in names:
        std_key = f"{name} std" if any(f"{name} std" in r for r in rows) else None
        interval_key = f"{name} interval" if any(f"{name} interval" in r for r in rows) else None
        direction = quality[name].direction
        columns.append(Column(name, f"{name} {ARROWS.get(direction, '')}".strip(), direction, std_key,
                              interval_key=interval_key))
    if any("ssim_kind" in r for r in rows):
        columns.append(Column("ssim_kind", "ssim kind"))
    if any("n" in r for r in rows):
        columns.append(Column("n", "N"))
    if any(r["images"] for r in rows):
        columns.append(Column("images", "images seen"))
    for name, timing in TIMING.items():
        if any(name in r for r in rows):
            columns.append(Column(name, f"{timing.short} {ARROWS[timing.direction]}", timing.direction,
                                  timing=True))
    columns.append(Column("status", "status"))
    # An FD on one dataset says nothing about an FD on another: each dataset is its own group.
    groups = list(dict.fromkeys(r["dataset"] for r in rows))

    def order(row: dict[str, Any]) -> tuple:
        key = rankings.get(row["dataset"])
        value = row.get(key) if key else None
        sign = -1 if key and _direction(key, quality) == "max" else 1
        return (row["status"] != "ok", groups.index(row["dataset"]), value is None,
                sign * value if value is not None else 0)

    rows.sort(key=order)
    notes = (ranking_notes(rankings, rows) + metric_notes(rows, unavailable, small_n) + interval_note(rows)
             + capped_notes(capped))
    first = rankings.get(rows[0]["dataset"]) if rows else None
    if runs:  # what bound the runs, and where: a time budget means nothing without its device
        title = f"{title} · {bounds.describe_budget(runs)}"
    board = Leaderboard(title, columns, rows, notes, first, rankings)
    if per_seed:
        return board
    from harness.seed_summary import over_seeds  # it reads this module's Leaderboard

    board = over_seeds(board)
    if not interval_note(board.rows):  # every row now stands for several seeds: no brackets left
        board.footnotes = [n for n in board.footnotes if n not in interval_note(rows)]
    for column in board.columns:
        if any(f"{column.key} ±" in r for r in board.rows):
            column.spread_key = f"{column.key} ±"
    return board


def _rankings(runs: list[Run], rows: list[dict], quality: dict[str, _Quality], rank_by: str | None) -> dict[str, str]:
    """Each dataset's ranking metric: ``rank_by``, else what its runs recorded (the first
    run's, should they differ), else the rule older runs were ranked by."""
    if rank_by is not None:
        present = set(quality) | {name for name in TIMING if any(name in r for r in rows)}
        if rank_by not in present:
            raise UsageError(f"--rank-by {rank_by}: no such metric in this leaderboard; its metrics: "
                             f"{', '.join(sorted(present)) or '(none)'}")
        return {r["dataset"]: rank_by for r in rows}
    rankings: dict[str, str] = {}
    for run in runs:
        recorded = run_ranking(run)
        if recorded is not None:
            rankings.setdefault(run.dataset, recorded)
    legacy = _legacy_ranking(quality, {n for n in quality if any(r.get(n) is not None for r in rows)})
    for row in rows:
        if row["dataset"] not in rankings and legacy is not None:
            rankings[row["dataset"]] = legacy
    return rankings


def _direction(name: str, quality: dict[str, _Quality]) -> str:
    return quality[name].direction if name in quality else TIMING[name].direction if name in TIMING else "min"


def _interval(value: Any) -> bool:
    """A sampling interval as a metric's details hold it: two finite numbers, low first."""
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
            and value[0] <= value[1])
