"""Leaderboards: one row per run, one column per metric, each header naming its metric
and its direction (↑ higher is better, ↓ lower is better)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.records import MetricValue, ResultsStore, Run
from harness.timing_columns import TIMING

ARROWS = {"max": "↑", "min": "↓"}
INCEPTION = "inception"  # the extractor of FID and its KID

FD_FLAG = "†"


@dataclass
class Column:
    key: str
    header: str
    direction: str | None = None
    # For a KID column: the row key of its standard deviation, shown as "mean ± std".
    std_key: str | None = None
    timing: bool = False


@dataclass
class Leaderboard:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    footnotes: list[str] = field(default_factory=list)
    #: The metric the rows are ranked by (None when no run has a quality metric).
    rank_by: str | None = None

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


def _column_order(q: _Quality) -> tuple[int, str, int]:
    """Domain FD and its KID first (they always work), then FID and its KID, then SSIM,
    then mode coverage (classes covered, then the KL) and anything else, in the order
    first seen within each group."""
    if q.kind in ("fd", "kid"):
        return (0 if q.domain else 1, q.extractor or "", q.kind == "kid")
    if q.kind == "ssim":
        return (2, "", 0)
    if q.kind == "coverage":
        return (3, q.extractor or "", q.direction == "min")
    return (4, "", 0)


def _ranking(quality: dict[str, _Quality], has_value: set[str]) -> str | None:
    """The metric that ranks: the first FD column that has a value (a domain FD where one
    applies), else the first quality column."""
    names = sorted(quality, key=lambda name: _column_order(quality[name]))
    fds = [n for n in names if quality[n].kind == "fd" and n in has_value]
    return (fds or names or [None])[0]


def ranking_metric(metrics: list[MetricValue]) -> MetricValue | None:
    """The metric that would rank a leaderboard of this one run's ``metrics``."""
    quality = {m.name: _Quality(m.direction, m.kind, m.extractor) for m in metrics if m.kind != "timing"}
    name = _ranking(quality, {m.name for m in metrics if m.value is not None})
    return next((m for m in metrics if m.name == name), None)


def build(store: ResultsStore, runs: list[Run], title: str) -> Leaderboard:
    """A leaderboard of ``runs`` (records of ``store``).

    Rows are ranked by the first FD column (a domain FD where one applies), successful
    runs first; N is the number of samples the FD columns were computed from."""
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
    names = sorted(quality, key=lambda name: _column_order(quality[name]))
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
    key = _ranking(quality, {n for n in names if any(r.get(n) is not None for r in rows)})
    if key is not None:
        sign = -1 if quality[key].direction == "max" else 1
        rows.sort(key=lambda r: (r["status"] != "ok", r.get(key) is None,
                                 sign * r[key] if r.get(key) is not None else 0))
    return Leaderboard(title, columns, rows, _footnotes(rows, unavailable, small_n), key)


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
