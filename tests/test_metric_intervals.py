"""The sampling intervals of FD and KID mean what they say: over independent draws of N
samples from one fixed generator, against one fixed set of real features, the 90%
interval of one draw contains the other draws' values about 90% of the time. Also the
details the metrics record, and the FD path the metrics use against frechet_distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.api import EvalContext
from harness.metrics import frechet_distance, kid, statistics
from harness.metrics.feature_metrics import FrechetMetric, KidMetric
from harness.metrics.features import Features
from harness.metrics.frechet import SubsetFrechet
from harness.metrics.uncertainty import (
    SUBSAMPLE_CAP,
    Interval,
    fd_interval,
    kid_interval,
    split_half_interval,
    subsampled,
)

DRAWS = 40

pytestmark = pytest.mark.usefixtures("one_blas_thread")


class FixedGenerator:
    """A fixed Gaussian in ``d`` dimensions: a mean shift and a mixing of the axes away
    from the standard normal the real features come from."""

    def __init__(self, d: int, shift: float, mixing: float, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = np.eye(d) + mixing * rng.normal(size=(d, d)) / np.sqrt(d)
        self.mu = np.full(d, shift / np.sqrt(d))
        self.d = d

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(size=(n, self.d)) @ self.a.T + self.mu


def coverage(values: np.ndarray, intervals: np.ndarray) -> float:
    """How often draw i's interval contains draw j's value, over all pairs i ≠ j."""
    inside = (values[None, :] >= intervals[:, :1]) & (values[None, :] <= intervals[:, 1:])
    np.fill_diagonal(inside, False)
    return float(inside.sum() / (len(values) * (len(values) - 1)))


def repeated(generator: FixedGenerator, n: int, metric, draws: int = DRAWS) -> tuple[np.ndarray, np.ndarray]:
    """Values and intervals of ``metric(samples, real, seed)`` over independent draws."""
    rng = np.random.default_rng(7)
    real = rng.normal(size=(n, generator.d))
    values, intervals = [], []
    for i in range(draws):
        value, interval = metric(generator.draw(n, rng), real, i)
        assert interval.low < value < interval.high and interval.level == 0.9
        values.append(value)
        intervals.append((interval.low, interval.high))
    return np.array(values), np.array(intervals)


def fd_with_interval(x, real, seed):
    fd = SubsetFrechet(*subsampled(x, real, seed))
    value = frechet_distance(*statistics(x), *statistics(real))
    return value, fd_interval(value, fd, len(x), seed)


def kid_with_interval(x, real, seed, subsets=100, subset_size=1000):
    value, _ = kid(x, real, subsets, subset_size, seed=seed)
    return value, kid_interval(value, x, real, seed)


@pytest.mark.parametrize(("d", "n", "shift", "mixing"), [
    (16, 256, 1.0, 0.5),  # a clear distance: the first-order term dominates
    (32, 128, 3.0, 0.5),  # more dimensions than N/4
    (8, 64, 0.0, 0.0),  # the real distribution itself at the smoke budget's N: the distance is ~0
])
def test_fd_and_kid_intervals_cover_another_draw_at_the_nominal_rate(d, n, shift, mixing):
    generator = FixedGenerator(d, shift, mixing)
    for metric in (fd_with_interval, kid_with_interval):
        values, intervals = repeated(generator, n, metric)
        assert 0.8 <= coverage(values, intervals) <= 0.97, (metric.__name__, coverage(values, intervals))


def test_above_the_subsample_cap_the_scaled_interval_still_covers():
    # N > SUBSAMPLE_CAP: the halves come from a subsample and the spread is scaled by √(n/N).
    # KID here averages subsets, as it does at large N; with each sample in about 5 of them
    # (the built-in 100 of 1000 put each in 10 or more up to N = 10,000) it is close to
    # the whole-set value the interval treats it as.
    generator, n = FixedGenerator(8, 1.0, 0.5), 2 * SUBSAMPLE_CAP
    x, real = generator.draw(n, np.random.default_rng(0)), np.random.default_rng(1).normal(size=(n, 8))
    assert fd_with_interval(x, real, 0)[1].method == "50 splits into halves of a 1024-sample subset, scaled to N=2048"
    for metric in (fd_with_interval, lambda x, r, s: kid_with_interval(x, r, s, subsets=20, subset_size=500)):
        values, intervals = repeated(generator, n, metric, draws=24)
        assert 0.8 <= coverage(values, intervals) <= 0.97, coverage(values, intervals)


def test_a_percentile_bootstrap_would_under_cover():
    # Why not the plain bootstrap: its 90% interval is about the spread of one value, and
    # another draw differs from this one by the spread of both.
    generator, n = FixedGenerator(16, 1.0, 0.5), 256

    def bootstrap(x, real, seed):
        fd = SubsetFrechet(x, real)
        value = fd.distance()
        picks = np.random.default_rng(seed)
        deviations = [fd.distance(np.sort(picks.integers(0, n, n))) for _ in range(50)]
        low, high = np.quantile(deviations, [0.05, 0.95]) - np.median(deviations) + value
        return value, Interval(float(low), float(high), 0.9, "percentile bootstrap, centred")

    values, intervals = repeated(generator, n, bootstrap, draws=30)
    assert coverage(values, intervals) < 0.8


def test_split_half_interval_is_seeded_and_symmetric():
    rng = np.random.default_rng(0)
    data = rng.normal(size=200)
    stat = lambda idx: float(data[idx].mean())  # noqa: E731
    a, b = split_half_interval(1.0, stat, 200, 200, seed=5), split_half_interval(1.0, stat, 200, 200, seed=5)
    assert a == b and a.high - 1.0 == pytest.approx(1.0 - a.low)
    # For a mean, the interval for another draw's mean is ±1.645·√2·σ/√N.
    assert (a.high - a.low) / 2 == pytest.approx(1.645 * np.sqrt(2) * data.std() / np.sqrt(200), rel=0.25)
    with pytest.raises(ValueError, match="at least 4"):
        split_half_interval(0.0, stat, 3, 3)


@pytest.mark.parametrize(("n", "m", "d"), [(300, 200, 8), (40, 40, 64), (20, 30, 64), (100, 80, 16)])
def test_subset_frechet_equals_frechet_distance(n, m, d):
    rng = np.random.default_rng(n + d)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) * 1.3 + 0.2
    fd = SubsetFrechet(x, y)
    assert fd.gram == (max(n, m) <= d)  # both ways are covered
    i, j = rng.choice(n, n // 2, replace=False), rng.choice(m, m // 3, replace=False)
    for rows, cols in ((None, None), (i, None), (i, j)):
        xs, ys = x if rows is None else x[rows], y if cols is None else y[cols]
        expected = frechet_distance(*statistics(xs), *statistics(ys))
        # frechet_distance sums √ of the rounding noise of a rank-deficient covariance's zero eigenvalues
        assert fd.distance(rows, cols) == pytest.approx(expected, rel=1e-12 if not fd.gram else 1e-6)


class Flat:
    name, fd_column, description, num_classes = "flat", "fd-flat", "", None

    def applies_to(self, dataset):
        return True

    def unavailable(self):
        return None


def _ctx(samples: np.ndarray, real: np.ndarray, seed: int = 0) -> EvalContext:
    ctx = EvalContext(None, None, None, None, torch.device("cpu"), seed, None)
    ctx.memo[("features", "flat")] = (Features(samples.astype(np.float32)), Features(real.astype(np.float32)), True)
    return ctx


def test_metric_details_carry_the_interval():
    rng = np.random.default_rng(0)
    samples, real = rng.normal(size=(64, 8)) + 0.3, rng.normal(size=(64, 8))
    fd = FrechetMetric(Flat()).compute(_ctx(samples, real))
    assert fd.value == pytest.approx(frechet_distance(*statistics(samples.astype(np.float32)),
                                                      *statistics(real.astype(np.float32))), rel=1e-12)
    for result in (fd, KidMetric(Flat()).compute(_ctx(samples, real))):
        low, high = result.details["interval"]
        assert isinstance(low, float) and isinstance(high, float) and low < result.value < high
        assert result.details["interval_level"] == 0.9
        assert result.details["interval_method"] == "50 splits into halves, scaled to N=64"
    again = KidMetric(Flat()).compute(_ctx(samples, real))
    assert again.details == KidMetric(Flat()).compute(_ctx(samples, real)).details  # seeded


def test_kid_std_only_where_it_is_not_zero_by_construction():
    rng = np.random.default_rng(1)
    whole = KidMetric(Flat()).compute(_ctx(rng.normal(size=(64, 8)), rng.normal(size=(64, 8))))
    assert "std" not in whole.details and whole.details["subset_size"] == 64  # one exact value
    subsets = KidMetric(Flat()).compute(_ctx(rng.normal(size=(64, 8)), rng.normal(size=(48, 8))))
    assert subsets.details["std"] > 0 and subsets.details["subset_size"] == 48  # spread over subsets
    tiny = KidMetric(Flat()).compute(_ctx(rng.normal(size=(5, 8)), rng.normal(size=(5, 8))))
    assert "interval" not in tiny.details  # below MIN_N: halves of 2 say nothing
