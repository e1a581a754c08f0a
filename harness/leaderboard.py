"""Leaderboards: one row per run, one column per metric, each header naming its metric
and its direction (↑ higher is better, ↓ lower is better)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.records import MetricValue, ResultsStore, Run
from harness.timing_columns import TIMING

ARROWS = {"max": "↑", "min": "↓"}
INCEPTION = "inception"  # the extractor of FID and its KID

FD_FLAG = "†"


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
    #: For a KID column: the row key of its standard deviation, shown as "mean ± std".
    std_key: str | None = None
    #: True for a timing column (throughput, memory, wall clock), not a quality metric.
    timing: bool = False


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
    #: marked †) and ``<metric> std`` for a KID. A key missing or None is a value the
    #: run does not have.
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
        """A cell as text: its value, "± std" for KID, and the small-N flag for FD."""
        value = row.get(column.key)
        if value is None and column.direction is None:
            return ""  # a descriptive column (setting, N) that does not apply to this row
        text = format_value(value)
        if column.std_key and row.get(column.std_key) is not None and row.get(column.key) is not None:
            text += f" ± {format_value(row[column.std_key])}"
        if column.key in row.get("flags", ()):
            text += FD_FLAG
        return text


def format_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) < 0.01:
            return f"{value:.2e}"
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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
    metrics with the KID of their feature space first, then the other FD and KID pairs by
    the name of their feature space, then SSIM, then mode coverage (classes covered, then
    the KL) and anything else, each group in name order."""
    if q.kind in ("fd", "kid"):
        first = name in ranking or (q.extractor is not None and q.extractor in ranking_spaces)
        return (0 if first else 1, q.extractor or name, q.kind == "kid")
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


def build(store: ResultsStore, runs: list[Run], title: str, rank_by: str | None = None) -> Leaderboard:
    """A leaderboard of ``runs`` (records of ``store``).

    Each row is ranked by ``rank_by`` when given (``--rank-by``), else by the ranking
    metric its run recorded (its suite's, else its dataset's), successful runs first;
    rows of datasets ranked by different metrics are grouped by dataset. N is the number
    of samples the FD columns were computed from."""
    rows, quality, unavailable, small_n = [], {}, {}, {}
    for run in runs:
        row: dict[str, Any] = {
            "run": run.id, "generator": run.generator, "dataset": run.dataset,
            "budget": run.budget, "seed": run.seed, "status": run.status, "flags": [],
        }
        if run.setting:
            row["setting"] = run.setting
        if run.status == "failed":
            step = f" at step {run.failed_step}" if run.failed_step else ""
            row["status"] = f"failed{step}: {run.reason}"
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
        direction = quality[name].direction
        columns.append(Column(name, f"{name} {ARROWS.get(direction, '')}".strip(), direction, std_key))
    if any("ssim_kind" in r for r in rows):
        columns.append(Column("ssim_kind", "ssim kind"))
    if any("n" in r for r in rows):
        columns.append(Column("n", "N"))
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
    notes = _ranking_notes(rankings, rows) + _footnotes(rows, unavailable, small_n)
    first = rankings.get(rows[0]["dataset"]) if rows else None
    return Leaderboard(title, columns, rows, notes, first, rankings)


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


def _ranking_notes(rankings: dict[str, str], rows: list[dict]) -> list[str]:
    """What ranks the rows, where that is not one metric with values."""
    notes = []
    if len(rankings) > 1:
        notes.append("grouped by dataset, each ranked by its metric: "
                     + ", ".join(f"{dataset} by {metric}" for dataset, metric in rankings.items()))
    for dataset, metric in rankings.items():
        if not any(r.get(metric) is not None for r in rows if r["dataset"] == dataset):
            notes.append(f"{dataset} rows not ranked: none has a value of {metric}, its ranking metric "
                         "(rank by another metric with --rank-by)")
    return notes


def _footnotes(rows: list[dict], unavailable: dict, small_n: dict) -> list[str]:
    notes = []
    for name, ns in small_n.items():
        notes.append(f"{FD_FLAG} {name} from N = {', '.join(map(str, sorted(ns)))} < 2048 samples: FD is biased "
                     "upward at small N, so compare it only within this table (KID is unbiased at any N)")
    for reason, (names, generators) in unavailable.items():
        notes.append(f"{', '.join(names)} n/a for {', '.join(generators)}: {reason}")
    if any(r.get("ssim_kind") for r in rows):
        notes.append("ssim kind: paired = against the ground truth of the same condition; "
                     "reconstruction = autoencoder output against its input; "
                     "nearest-real = each sample's best match in a reference set")
    return notes
