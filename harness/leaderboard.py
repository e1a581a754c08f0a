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


FD_FLAG = "†"


@dataclass
class Column:
    key: str
    header: str
    direction: str | None = None
    # For a KID column: the row key of its standard deviation, shown as "mean ± std".
    std_key: str | None = None


@dataclass
class Leaderboard:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    footnotes: list[str] = field(default_factory=list)

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


def _is_fd(name: str) -> bool:
    return name == "fid" or name.startswith("fd-")


def _column_order(name: str) -> tuple[int, str]:
    """Domain FD and its KID first (they always work), then FID and its KID, then SSIM,
    then mode coverage and anything else, in registration order within each group."""
    if name.startswith("fd-") or (name.startswith("kid-") and name != "kid-inception"):
        return (0, name.split("-", 1)[1])
    if name in ("fid", "kid-inception"):
        return (1, "")
    if name == "ssim":
        return (2, "")
    if name.startswith("modes-"):
        return (3, name.removeprefix("modes-") + "0")
    if name.startswith("mode-kl-"):
        return (3, name.removeprefix("mode-kl-") + "1")
    return (4, "")


def build(store: ResultsStore, runs: list, title: str) -> Leaderboard:
    """A leaderboard of the given run rows (from ResultsStore.runs).

    Rows are ranked by the first FD column (a domain FD where one applies), successful
    runs first; N is the number of samples the FD columns were computed from."""
    rows, quality, unavailable, small_n = [], {}, {}, {}
    for run in runs:
        row: dict[str, Any] = {
            "run": run["id"], "generator": run["generator"], "dataset": run["dataset"],
            "budget": run["budget"], "seed": run["seed"], "status": run["status"], "flags": [],
        }
        setting = json.loads(run["used"] or "{}").get("setting")
        if setting:
            row["setting"] = setting
        if run["status"] == "failed":
            step = f" at step {run['failed_step']}" if run["failed_step"] else ""
            row["status"] = f"failed{step}: {run['reason']}"
        for m in store.metrics(run["id"]):
            name, details = m["name"], json.loads(m["details"])
            row[name] = m["value"]
            if name in TIMING:
                continue
            quality.setdefault(name, m["direction"])
            if m["unavailable"]:
                missing, generators = unavailable.setdefault(m["unavailable"], ({}, {}))
                missing[name], generators[run["generator"]] = None, None
            if "std" in details:
                row[f"{name} std"] = details["std"]
            if name == "ssim":
                row["ssim_kind"] = details.get("kind")
                row.setdefault("n", m["n"])
            if _is_fd(name) and m["value"] is not None:
                row["n"] = m["n"]
                if details.get("small_n"):
                    row["flags"].append(name)
                    small_n.setdefault(name, set()).add(min(m["n"], details.get("n_real", m["n"])))
        rows.append(row)
    names = sorted(quality, key=_column_order)
    columns = [Column("generator", "generator"), Column("dataset", "dataset"), Column("seed", "seed")]
    if any("setting" in r for r in rows):  # the sampler and its steps, a staged generator's shares
        columns.append(Column("setting", "setting"))
    for name in names:
        std_key = f"{name} std" if any(f"{name} std" in r for r in rows) else None
        columns.append(Column(name, f"{name} {ARROWS.get(quality[name], '')}".strip(), quality[name], std_key))
    if any("ssim_kind" in r for r in rows):
        columns.append(Column("ssim_kind", "ssim kind"))
    if any("n" in r for r in rows):
        columns.append(Column("n", "N"))
    for name, (direction, _) in TIMING.items():
        if any(name in r for r in rows):
            columns.append(Column(name, f"{SHORT[name]} {ARROWS[direction]}", direction))
    columns.append(Column("status", "status"))
    ranked = [n for n in names if _is_fd(n) and any(r.get(n) is not None for r in rows)] or names
    if ranked:
        key, sign = ranked[0], -1 if quality[ranked[0]] == "max" else 1
        rows.sort(key=lambda r: (r["status"] != "ok", r.get(key) is None,
                                 sign * r[key] if r.get(key) is not None else 0))
    return Leaderboard(title, columns, rows, _footnotes(rows, unavailable, small_n))


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
