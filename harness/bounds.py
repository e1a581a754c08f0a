"""What bound a run's training, read from what it was given and what it used.

An images budget is the same on every machine: a run that reached it is comparable with
any other run that did. Its wall clock is only a guard, and a run stopped by the guard
saw as many images as its machine managed: it is *capped*, and every place a row is shown
says so with its share of the budget (``capped at 47%``). A time budget is tied to the
machine by definition: its rows compare only with rows of the same device.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from harness.budgets import KINDS, BudgetKind
from harness.records import Run

# What stopped a run: its budget (images, or the time of a time budget), the wall-clock
# guard of an images budget, early stopping, no training at all (a baseline), or
# nothing recorded (a failed or unfinished run).
BoundKind = Literal["budget", "capped", "early_stopping", "no_training", "unknown"]


@dataclass(frozen=True)
class Bound:
    """What bound one run: its kind, the images it saw against the budget's."""

    kind: BoundKind
    budget_kind: BudgetKind
    seen: int | None
    budget: int | None

    @property
    def share(self) -> float | None:
        """The fraction of the images budget seen, or None without one."""
        if self.seen is None or not self.budget:
            return None
        return self.seen / self.budget

    @property
    def capped(self) -> bool:
        """Stopped by the wall-clock guard of an images budget: its figures depend on the
        machine's speed and load, not on the budget alone."""
        return self.kind == "capped"

    def label(self) -> str:
        """A few words for a row: ``capped at 47%``, ``early stop at 62%``, ``""``."""
        if self.kind == "capped":
            return f"capped at {percent(self.share)}"
        if self.kind == "early_stopping":  # a time budget's images are only a ceiling: no share
            return "early stop" if self.budget_kind == "time" else f"early stop at {percent(self.share)}"
        return ""

    def images_text(self) -> str:
        """Images seen against the budget: ``45,376/96,000``; ``45,376`` for a time budget."""
        if self.kind == "no_training":
            return "no training"
        if self.seen is None:
            return ""
        if self.budget_kind == "time" or not self.budget:
            return f"{self.seen:,}"
        return f"{self.seen:,}/{self.budget:,}"


def percent(share: float | None) -> str:
    """A share rounded down, so that a run short of its budget never reads 100%; one
    decimal below 10%, where a whole percent hides most of the value."""
    if share is None:
        return "?"
    value = 100 * share
    if value < 10:
        return f"{math.floor(value * 10) / 10:.1f}%"
    return f"{math.floor(value)}%"


def budget_kind(run: Run) -> BudgetKind:
    """The kind of budget a run was given; runs recorded before budgets had kinds were
    given an images budget with a wall-clock cap, the same thing as today's images kind."""
    kind = run.given.get("kind", "images")
    return kind if kind in KINDS else "images"


def of(run: Run) -> Bound:
    """What bound ``run``'s training."""
    return from_values(run.used.get("images_seen"), run.given.get("images"), run.used.get("stopped_by"),
                       budget_kind(run))


def from_values(seen: int | None, budget: int | None, stopped_by: str | None, kind: BudgetKind) -> Bound:
    """What bound a run that saw ``seen`` images of ``budget`` and stopped by ``stopped_by``
    (the training loop's reason: ``images``, ``wall_clock``, ``early_stopping``, ...)."""
    bound: BoundKind
    if stopped_by == "no_training":
        bound = "no_training"
    elif stopped_by == "early_stopping":
        bound = "early_stopping"
    elif stopped_by == "wall_clock" and kind == "images":
        bound = "capped"
    elif stopped_by in ("images", "wall_clock"):
        bound = "budget"
    else:
        bound = "unknown"
    return Bound(bound, kind, seen, budget)


def describe_budget(runs: Iterable[Run]) -> str:
    """The budget of a set of runs, its kind and the device, for a leaderboard's title:
    ``budget quick: 96,000 images, 60 s guard · on cpu (...)``."""
    runs = list(runs)
    # Each definition once: runs of an earlier definition of the same name show both.
    definitions = {(r.budget, json.dumps({k: v for k, v in r.given.items() if k not in ("seeds", "description")},
                                         sort_keys=True)): r for r in runs}
    parts = []
    for (name, _), run in sorted(definitions.items(), key=lambda item: item[0]):
        given = run.given
        if budget_kind(run) == "time":
            parts.append(f"budget {name}: {given.get('wall_clock_s', 0):g} s per run (a time budget)")
        else:
            parts.append(f"budget {name}: {given.get('images', 0):,} images (wall-clock guard "
                         f"{given.get('wall_clock_s', 0):g} s)")
    devices = sorted({r.env.get("device_name") or r.env.get("device") or "?" for r in runs})
    where = devices[0] if len(devices) == 1 else f"{len(devices)} devices"
    return " · ".join([*parts, f"on {where}"]) if runs else ""
