"""The statistics behind ``genbench compare``: a set of observations summarized as
median ± spread, the ratio between two sets, and the significance test."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TESTS = ("welch", "mannwhitney")


@dataclass(frozen=True)
class Sample:
    """Observations of one metric on one side (one per seed, or one per benchmark round).

    ``values`` may be empty when only a summary is known (pytest-benchmark JSON saved
    without ``--benchmark-save-data``); the test then runs on the summary statistics."""

    n: int
    median: float
    spread: float  # half the interquartile range
    mean: float
    std: float  # sample standard deviation (ddof=1); 0 for one observation
    values: tuple[float, ...] = ()

    @classmethod
    def of(cls, values: list[float]) -> Sample:
        a = np.asarray(values, dtype=np.float64)
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        return cls(len(a), float(med), float(q3 - q1) / 2, float(a.mean()),
                   float(a.std(ddof=1)) if len(a) > 1 else 0.0, tuple(float(v) for v in a))


def ratio(base: float, cand: float) -> float:
    """Candidate over baseline. For a baseline at or below zero (KID can be negative) it is
    1 + the relative change, so that > 1 still means "went up"."""
    if base > 0 and cand >= 0:
        return cand / base
    if base == 0:
        return 1.0 if cand == 0 else math.copysign(math.inf, cand)
    return 1 + (cand - base) / abs(base)


def p_value(base: Sample, cand: Sample, test: str) -> float | None:
    """Two-sided p that the two sets come from one distribution; None when either side has
    a single observation (significance cannot be judged)."""
    if base.n < 2 or cand.n < 2:
        return None
    from scipy import stats  # here: importing scipy would cost every other command 0.6 s at start-up

    if test == "mannwhitney" and base.values and cand.values:
        return float(stats.mannwhitneyu(base.values, cand.values, alternative="two-sided").pvalue)
    if base.std == 0 and cand.std == 0:  # deterministic values (a parameter count): exact
        return 1.0 if base.mean == cand.mean else 0.0
    result = stats.ttest_ind_from_stats(base.mean, base.std, base.n, cand.mean, cand.std, cand.n,
                                        equal_var=False)
    return float(result.pvalue)


def smallest_p(n1: int, n2: int, test: str) -> float:
    """The smallest two-sided p the test can give for these sizes: a rank test on 3 vs 3
    seeds can never go below 0.1, which the report says rather than hides."""
    if test != "mannwhitney" or n1 < 1 or n2 < 1:
        return 0.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))
