"""The typed records genbench keeps: a suite run, its runs, each run's evaluations
during training and its final metric values. Everything outside the records layer reads
these, never database rows; their JSON columns are decoded once, here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.metric_kinds import MetricKind
from harness.records.processes import ProcessId

RunStatus = Literal["pending", "running", "ok", "failed", "interrupted"]
# What a resumed suite still has to do; "ok" and "failed" runs are finished.
UNFINISHED = ("pending", "running", "interrupted")


@dataclass(frozen=True)
class MetricValue:
    """One final number of a run (or why it is unavailable)."""

    name: str
    value: float | None
    direction: str  # "min" or "max"
    kind: MetricKind = "other"
    n: int | None = None  # samples it was computed from
    details: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None

    @property
    def extractor(self) -> str | None:
        """The feature extractor a feature-space metric was computed in."""
        return self.details.get("extractor")


@dataclass(frozen=True)
class Evaluation:
    """A scheduled evaluation during training: losses, step time, validation loss."""

    run_id: str
    images_seen: int
    wall_s: float
    values: dict[str, Any]


@dataclass(frozen=True)
class SuiteRun:
    """One ``genbench run`` invocation."""

    id: str
    suite: str
    label: str | None
    budget: str
    started: float
    finished: float | None
    options: dict[str, Any]
    env: dict[str, Any]


@dataclass(frozen=True)
class Run:
    """One generator x dataset x budget x seed: what it was given, what it used, how it ended."""

    id: str
    suite_run: str
    generator: str
    dataset: str
    budget: str
    seed: int
    status: RunStatus
    reason: str | None
    failed_step: int | None
    run_dir: Path
    options: dict[str, Any]
    given: dict[str, Any]
    used: dict[str, Any]
    env: dict[str, Any]
    started: float
    finished: float | None
    process: ProcessId | None = None  # the process that runs (or last ran) it
    attempts: int = 0  # the sessions it was started in: more than 1 after a resume or a retry

    @property
    def done(self) -> bool:
        """Finished, ok or failed: nothing is left to resume."""
        return self.status not in UNFINISHED

    @property
    def setting(self) -> str | None:
        """How its samples were produced (a sampler and its steps), when the generator says."""
        return self.used.get("setting")

    @property
    def subject(self) -> str:
        """The generator, with its setting when it has one: one trained model under two
        samplers is two subjects, not two seeds of one."""
        return f"{self.generator} [{self.setting}]" if self.setting else self.generator


@dataclass(frozen=True)
class Selection:
    """The runs a reference (run id, suite-run id, label or prefix) names, and what it named."""

    runs: list[Run]
    description: str


@dataclass(frozen=True)
class MetricPoint:
    """One run's value of one metric, with where it sits in the history."""

    dataset: str
    budget: str
    setting: str | None
    suite_run: str
    label: str | None
    started: float
    seed: int
    value: float
    direction: str
    # The budget as given, without its seeds and description (two definitions of one
    # name are two series), and whether its wall-clock guard cut the run short.
    budget_given: str = ""
    capped: bool = False
