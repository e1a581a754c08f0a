"""When a change is called: a factor threshold (per metric) and a significance level,
from defaults, a TOML file and command-line flags, in that order.

A policy file::

    factor = 1.1          # every metric: a change smaller than 10% is not called
    alpha = 0.05          # two-sided p below this is significant
    test = "welch"        # or "mannwhitney"

    [metric."train_images_per_s"]
    factor = 1.05
    [metric."wall_s"]
    ignore = true         # shown, never called
    [metric."fd-*"]       # shell-style patterns; an exact name wins over a pattern
    factor = 1.2
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import tomlfile
from harness.compare.stats import TESTS
from harness.errors import UsageError

DEFAULT_FACTOR = 1.1
DEFAULT_ALPHA = 0.05
DEFAULT_TEST = "welch"

TOP_KEYS: dict[str, type | tuple[type, ...]] = {"factor": (int, float), "alpha": (int, float), "test": str,
                                                "metric": dict}
METRIC_KEYS: dict[str, type | tuple[type, ...]] = {"factor": (int, float), "ignore": bool}


@dataclass
class Policy:
    factor: float = DEFAULT_FACTOR
    alpha: float = DEFAULT_ALPHA
    test: str = DEFAULT_TEST
    per_metric: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_factor(self.factor, "factor")
        if not 0 < self.alpha < 1:
            raise UsageError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.test not in TESTS:
            raise UsageError(f"unknown test {self.test!r}; expected one of {', '.join(TESTS)}")

    def _settings(self, metric: str) -> dict[str, Any]:
        if metric in self.per_metric:
            return self.per_metric[metric]
        for pattern, settings in self.per_metric.items():
            if fnmatch.fnmatchcase(metric, pattern):
                return settings
        return {}

    def factor_for(self, metric: str) -> float:
        return float(self._settings(metric).get("factor", self.factor))

    def ignores(self, metric: str) -> bool:
        return bool(self._settings(metric).get("ignore", False))

    def describe(self) -> str:
        test = "Welch's t-test" if self.test == "welch" else "Mann-Whitney U"
        extra = f"; per-metric settings for {', '.join(self.per_metric)}" if self.per_metric else ""
        return f"a change is called when the ratio passes {self.factor:g}x and {test} gives p < {self.alpha:g}{extra}"


def check_factor(value: float, what: str) -> None:
    if not value > 1:
        raise UsageError(f"{what} must be greater than 1 (a ratio such as 1.1), got {value}")


def load(path: Path | None, factor: float | None = None, alpha: float | None = None,
         test: str | None = None) -> Policy:
    """The policy: a TOML file's settings, then the flags given on the command line."""
    settings: dict[str, Any] = {}
    per_metric: dict[str, dict[str, Any]] = {}
    if path is not None:
        data, text = tomlfile.load(path)
        tomlfile.check_keys(data, TOP_KEYS, path, text, "the compare policy")
        for name, table in data.pop("metric", {}).items():
            if not isinstance(table, dict):
                raise UsageError(f"{tomlfile.where(path, text, name)}: [metric.{name!r}] must be a table")
            tomlfile.check_keys(table, METRIC_KEYS, path, text, f"[metric.{name!r}]")
            if "factor" in table:
                check_factor(table["factor"], f"{path}: [metric.{name!r}] factor")
            per_metric[name] = table
        settings = data
    flags = {"factor": factor, "alpha": alpha, "test": test}
    settings |= {k: v for k, v in flags.items() if v is not None}
    return Policy(**settings, per_metric=per_metric)
