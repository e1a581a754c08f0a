"""Leaderboards: one row per run, one column per metric, each header naming its metric
and its direction (↑ higher is better, ↓ lower is better)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from harness.evaluation import TIMING
from harness.results import ResultsStore

ARROWS = {"max": "↑", "min": "↓"}
SHORT = {
    "train_images_per_s": "train img/s",
    "step_ms": "step ms",
    "sample_images_per_s": "sample img/s",
    "sample_batch_ms": "sample batch ms",
    "peak_mem_mb": "peak MiB",
    "params": "params",
    "wall_s": "wall s",
}


@dataclass
class Column:
    key: str
    header: str
    direction: str | None = None


@dataclass
class Leaderboard:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    footnotes: list[str] = field(default_factory=list)


def format_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def build(store: ResultsStore, runs: list, title: str) -> Leaderboard:
    """A leaderboard of the given run rows (from ResultsStore.runs)."""
    rows, quality, footnotes = [], {}, []
    for run in runs:
        row: dict[str, Any] = {
            "run": run["id"], "generator": run["generator"], "dataset": run["dataset"],
            "budget": run["budget"], "seed": run["seed"], "status": run["status"],
        }
        if run["status"] == "failed":
            step = f" at step {run['failed_step']}" if run["failed_step"] else ""
            row["status"] = f"failed{step}: {run['reason']}"
        for m in store.metrics(run["id"]):
            details = json.loads(m["details"])
            row[m["name"]] = m["value"]
            if m["name"] not in TIMING:
                quality.setdefault(m["name"], m["direction"])
                if m["unavailable"]:
                    note = f"{m['name']} n/a for {run['generator']}: {m['unavailable']}"
                    if note not in footnotes:
                        footnotes.append(note)
            if m["name"] == "ssim":
                row["ssim_kind"] = details.get("kind")
                row["n"] = m["n"]
        rows.append(row)
    columns = [Column("generator", "generator"), Column("dataset", "dataset"), Column("seed", "seed")]
    for name, direction in quality.items():
        columns.append(Column(name, f"{name} {ARROWS.get(direction, '')}".strip(), direction))
    if any("ssim_kind" in r for r in rows):
        columns += [Column("ssim_kind", "ssim kind"), Column("n", "N")]
    for name, (direction, _) in TIMING.items():
        if any(name in r for r in rows):
            columns.append(Column(name, f"{SHORT[name]} {ARROWS[direction]}", direction))
    columns.append(Column("status", "status"))
    if quality:
        key, direction = next(iter(quality.items()))
        sign = -1 if direction == "max" else 1

        def rank(r: dict) -> tuple:
            v = r.get(key)
            return (r["status"] != "ok", v is None, sign * v if v is not None else 0)

        rows.sort(key=rank)
    if any(r.get("ssim_kind") for r in rows):
        footnotes.append("ssim kind: paired = against the ground truth of the same condition; "
                         "reconstruction = autoencoder output against its input; "
                         "nearest-real = each sample's best match in a reference set")
    return Leaderboard(title, columns, rows, footnotes)
