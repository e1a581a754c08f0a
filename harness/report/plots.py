"""The report's figures, as PNG bytes: each run's loss curves against images seen and
against wall time, and the suite's quality against images seen and wall time (time to
quality: where each run ended up, and what it spent getting there)."""

from __future__ import annotations

import io
from typing import Any

from harness.records import Evaluation

DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    _pyplot().close(fig)
    return buf.getvalue()


def curves(evaluations: list[Evaluation]) -> dict[str, list[tuple[int, float, float]]]:
    """Every logged loss of a run: name -> [(images seen, wall s, value)] at each evaluation."""
    out: dict[str, list[tuple[int, float, float]]] = {}
    for ev in evaluations:
        for key, value in ev.values.items():
            if (key.startswith(("train/", "val/"))) and isinstance(value, (int, float)):
                out.setdefault(key, []).append((ev.images_seen, ev.wall_s, float(value)))
    return out


def loss_curves(series: dict[str, list[tuple[int, float, float]]], title: str) -> bytes | None:
    """Losses against images seen (left) and against wall time (right); None if nothing was logged."""
    if not series:
        return None
    plt = _pyplot()
    fig, (by_images, by_time) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=DPI)
    for name, points in sorted(series.items()):
        images, wall, values = zip(*points, strict=True)
        style = "--" if name.startswith("val/") else "-"
        by_images.plot(images, values, style, marker=".", label=name)
        by_time.plot(wall, values, style, marker=".", label=name)
    by_images.set_xlabel("images seen")
    by_time.set_xlabel("wall time (s)")
    for ax in (by_images, by_time):
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
    by_images.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def time_to_quality(points: list[dict[str, Any]], metric: str, direction: str) -> bytes | None:
    """Each run's final ``metric`` against the images it saw and the wall time it took.
    ``points``: dicts with generator, images_seen, wall_s and value."""
    points = [p for p in points if p.get("value") is not None and p.get("wall_s") is not None]
    if not points:
        return None
    plt = _pyplot()
    fig, (by_images, by_time) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=DPI)
    for generator in dict.fromkeys(p["generator"] for p in points):
        mine = [p for p in points if p["generator"] == generator]
        by_images.scatter([p["images_seen"] or 0 for p in mine], [p["value"] for p in mine], label=generator)
        by_time.scatter([p["wall_s"] for p in mine], [p["value"] for p in mine], label=generator)
    arrow = "↓" if direction == "min" else "↑"
    by_images.set_xlabel("images seen")
    by_time.set_xlabel("wall time (s)")
    for ax in (by_images, by_time):
        ax.set_ylabel(f"{metric} {arrow}")
        ax.grid(alpha=0.3)
        if direction == "min" and all(p["value"] > 0 for p in points):
            ax.set_yscale("log")  # FDs span orders of magnitude between a baseline and a model
    by_time.legend(fontsize=7, loc="best")
    fig.suptitle(f"time to quality: {metric} at the end of each run", fontsize=10)
    return _png(fig)
