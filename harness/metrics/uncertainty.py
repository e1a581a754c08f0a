"""Sampling uncertainty of FD and KID: a 90% interval for the value the metric would take
on another independent draw of N samples from the same generator, against the same real
features. That is what a reader comparing two rows of a leaderboard needs: whether a
second run of the same generator could have landed on the other row's value.

Method: split halves. A random split of the N samples into halves A and B gives two
independent draws of N/2 samples from the generator, so T(A) − T(B) is a draw of the
difference between two independent values of the metric at N/2. At first order (the
term that dominates whenever the distance is not near 0) a metric's variance is
proportional to 1/N, so (T(A) − T(B))·√(n/(2N)) is a draw of T(X′) − T(X) at N (n = N
unless subsampled, below). Over K seeded splits, s = RMS of those draws (their mean is 0
by symmetry), and the interval is T(X) ± t₀.₉₅,K · s. Why not a percentile bootstrap:

- its interval covers the spread of one estimate, but another draw's value differs from
  this one by the spread of both (√2 times wider), so it would under-cover;
- resampling with replacement duplicates samples, which shifts FD upward and biases
  KID's U-statistic; halves contain no duplicates, A and B share their bias, and the
  bias cancels in T(A) − T(B). The interval is centred on the reported value.

When the distance is near 0, second-order terms (variance ∝ 1/N²) matter, and halving
over-weights them, which errs toward a wider interval; measured at distance ≈ 0 the
coverage was still about nominal. ``tests/test_metric_intervals.py`` measures the
coverage on Gaussians.

Cost: for N above ``SUBSAMPLE_CAP`` the splits are drawn from a seeded subsample of that
many samples (and of the real features), and the spread is scaled by √(n/N) as above.
Below ``MIN_N`` samples there is no interval (halves of 2 or 3 samples say nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.metrics.frechet import SubsetFrechet

LEVEL = 0.9
SPLITS = 50
MIN_N = 8
# Above this many samples the spread is estimated on a subsample of this size and scaled
# down by √(n/N): it bounds the cost (the metrics themselves grow with N), the
# first-order term it relies on dominates at large N, and at 1024 ≤ 2048 = Inception's
# dimension the FD of a half takes the cheap Gram route (SubsetFrechet).
SUBSAMPLE_CAP = 1024


# Matrices of at most this many rows gain nothing from BLAS threads (see below).
SMALL_MATRIX = 512


def small_matrices(n: int, m: int, d: int) -> bool:
    """Whether FDs between subsets of n samples and m real features in d dimensions work
    on small matrices: SubsetFrechet's are at most min(max(n, m), d) on a side."""
    return min(max(n, m), d) <= SMALL_MATRIX


@contextmanager
def single_threaded_blas(when: bool = True) -> Iterator[None]:
    """BLAS on one thread (``when``) for the many small matrices of the resampling loops:
    they gain nothing from threads, and on a busy machine threads that wait for each
    other made them several times slower (measured)."""
    if not when:
        yield
        return
    from threadpoolctl import threadpool_limits  # here: only the resampling loops need it

    with threadpool_limits(1, user_api="blas"):
        yield


@dataclass(frozen=True)
class Interval:
    """A sampling interval: [low, high] at ``level``, and how it was made."""

    low: float
    high: float
    level: float
    method: str

    def details(self) -> dict[str, Any]:
        """The keys a MetricResult's details carry."""
        return {"interval": [self.low, self.high], "interval_level": self.level, "interval_method": self.method}


def split_half_interval(value: float, statistic: Callable[[np.ndarray], float], n: int, n_total: int,
                        splits: int = SPLITS, seed: int = 0, level: float = LEVEL) -> Interval:
    """The interval around ``value`` (the metric on all ``n_total`` samples) from
    ``splits`` seeded random splits of ``range(n)`` into halves; ``statistic(idx)`` is
    the metric on the samples ``idx`` (up to a constant shared by all subsets: only
    differences are used). ``n`` < ``n_total`` when ``statistic`` indexes a subsample."""
    if n < 4:
        raise ValueError(f"split_half_interval: needs at least 4 samples, got {n}")
    rng = np.random.default_rng([seed, 0])
    half, scale = n // 2, np.sqrt(n / (2 * n_total))
    draws = []
    with single_threaded_blas():
        for _ in range(splits):
            order = rng.permutation(n)
            draws.append((statistic(order[:half]) - statistic(order[half:2 * half])) * scale)
    spread = float(np.sqrt(np.mean(np.square(draws))))
    from scipy import stats  # here: importing it costs every command 0.8 s at start-up (measured)

    width = float(stats.t.ppf((1 + level) / 2, splits)) * spread  # t with K degrees: s is itself estimated
    of = f" of a {n}-sample subset" if n < n_total else ""
    return Interval(value - width, value + width, level, f"{splits} splits into halves{of}, scaled to N={n_total}")


def subsampled(samples: np.ndarray, real: np.ndarray, seed: int = 0,
               cap: int = SUBSAMPLE_CAP) -> tuple[np.ndarray, np.ndarray]:
    """The two feature sets in float64, each cut to a seeded ``cap`` rows when larger:
    what the intervals of large sets are estimated on."""
    return _take(samples, seed, 1, cap), _take(real, seed, 2, cap)


def _take(features: np.ndarray, seed: int, stream: int, cap: int) -> np.ndarray:
    f = np.asarray(features, np.float64)
    if len(f) <= cap:
        return f
    return f[np.sort(np.random.default_rng([seed, stream]).choice(len(f), cap, replace=False))]


def fd_interval(value: float, fd: SubsetFrechet, n_total: int, seed: int = 0, splits: int = SPLITS) -> Interval:
    """The interval of an FD ``value`` of ``n_total`` samples; ``fd`` holds those samples
    and the real features (or their :func:`subsampled` sets). Cut at 0, below which no FD
    falls (a squared distance); FD∞ and KID can, and are not cut."""
    interval = split_half_interval(value, lambda idx: fd.distance(idx), len(fd.x), n_total, splits, seed)
    return replace(interval, low=max(interval.low, 0.0))


def kid_interval(value: float, samples: np.ndarray, real: np.ndarray, seed: int = 0, splits: int = SPLITS,
                 degree: int = 3, coef0: float = 1.0) -> Interval:
    """The interval of the KID ``value`` of ``samples`` against ``real``: each half's
    value is the exact unbiased MMD² of the half against all the real features (or their
    :func:`subsampled` sets). Only its two terms that depend on the half change between
    halves, and they come from two kernel matrices computed once: a split costs O(N²)."""
    x, y = subsampled(samples, real, seed)
    d = x.shape[1]
    kxx = (x @ x.T / d + coef0) ** degree
    diagonal = np.diag(kxx).copy()
    kxy_mean = ((x @ y.T / d + coef0) ** degree).mean(axis=1)  # each sample's mean kernel with the real set

    def mmd2_up_to_constant(idx: np.ndarray) -> float:
        member = np.zeros(len(x))
        member[idx] = 1.0  # the block sum as a product with an indicator: no copy of the block
        m = len(idx)
        return float((member @ kxx @ member - diagonal[idx].sum()) / (m * (m - 1)) - 2 * kxy_mean[idx].mean())

    return split_half_interval(value, mmd2_up_to_constant, len(x), len(samples), splits, seed)
