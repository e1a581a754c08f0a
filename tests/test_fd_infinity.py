"""FD∞ (Chong & Forsyth 2020) on Gaussians whose distance has a closed form: far closer
to it than FD at the same small N, which is biased upward; its fit, its column and its
sampling interval."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.api import EvalContext
from harness.metrics import frechet_distance
from harness.metrics.fd_infinity import extrapolate, fd_infinity, fit_points
from harness.metrics.feature_metrics import (
    FD_INF_SPLITS,
    FrechetInfinityMetric,
    FrechetMetric,
    KidMetric,
    metrics_for,
)
from harness.metrics.features import Features
from harness.metrics.frechet import SubsetFrechet
from harness.metrics.uncertainty import split_half_interval

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def gaussians(d: int, seed: int = 0):
    """A generator N(mu, A·Aᵀ) against real data N(0, I), and their true FD."""
    rng = np.random.default_rng(seed)
    a = np.eye(d) + 0.3 * rng.normal(size=(d, d)) / np.sqrt(d)
    mu = np.full(d, 1 / np.sqrt(d))
    return a, mu, frechet_distance(mu, a @ a.T, np.zeros(d), np.eye(d))


@pytest.mark.parametrize(("d", "n"), [(16, 256), (32, 128), (8, 64)])
def test_fd_infinity_is_far_closer_to_the_true_distance_than_fd(d, n):
    a, mu, true = gaussians(d)
    rng = np.random.default_rng(1)
    fd, inf = [], []
    for draw in range(12):
        fds = SubsetFrechet(rng.normal(size=(n, d)) @ a.T + mu, rng.normal(size=(n, d)))
        fd.append(fds.distance())
        inf.append(fd_infinity(fds, seed=draw)[0])
    fd, inf = np.array(fd), np.array(inf)
    fd_bias, inf_bias = fd.mean() - true, inf.mean() - true
    assert fd_bias > 0.3 * true  # FD at small N is biased upward, by a lot
    assert abs(inf_bias) < 0.15 * fd_bias  # FD∞'s bias is a small fraction of it
    # FD∞ is a little noisier (it extrapolates), but its error is far smaller all told
    assert np.sqrt(np.mean((inf - true) ** 2)) < 0.7 * np.sqrt(np.mean((fd - true) ** 2))


def test_extrapolate_is_the_intercept_in_one_over_n():
    counts = [50, 80, 120, 200]
    assert extrapolate(counts, [3.0 + 40.0 / n for n in counts]) == pytest.approx(3.0, rel=1e-12)
    with pytest.raises(ValueError, match="two different"):
        extrapolate([10, 10], [1.0, 2.0])


def test_fit_points():
    assert fit_points(512) == [128, 183, 238, 293, 347, 402, 457, 512]
    assert fit_points(64)[0] == 16 and fit_points(64)[-1] == 64 and len(fit_points(64)) == 8
    assert fit_points(5) == [2, 3, 4, 5]  # no repeats, at least 2 samples
    rng = np.random.default_rng(0)
    large = SubsetFrechet(rng.normal(size=(2100, 4)), rng.normal(size=(2100, 4)))
    assert fd_infinity(large)[1] == fit_points(2100, 4) == [525, 1050, 1575, 2100]  # above 2048: 4 counts


def test_fd_infinity_is_seeded_and_restricts_to_rows():
    rng = np.random.default_rng(2)
    fds = SubsetFrechet(rng.normal(size=(64, 8)) + 0.5, rng.normal(size=(64, 8)))
    assert fd_infinity(fds, seed=3) == fd_infinity(fds, seed=3)
    rows = np.arange(0, 64, 2)
    half = SubsetFrechet(fds.x[rows], fds.y)
    assert fd_infinity(fds, seed=3, rows=rows) == fd_infinity(half, seed=3)  # the same estimator on the rows


def test_fd_infinity_interval_covers_another_draw():
    # As FD's interval (tests/test_metric_intervals.py), with FD∞ refitted on each half.
    draws = 30
    a, mu, _ = gaussians(16)
    rng = np.random.default_rng(4)
    real = rng.normal(size=(256, 16))
    values, intervals = [], []
    for draw in range(draws):
        fds = SubsetFrechet(rng.normal(size=(256, 16)) @ a.T + mu, real)
        value = fd_infinity(fds, seed=draw)[0]
        interval = split_half_interval(value, lambda idx, f=fds, s=draw: fd_infinity(f, s, rows=idx)[0],
                                       256, 256, splits=FD_INF_SPLITS, seed=draw)
        values.append(value)
        intervals.append((interval.low, interval.high))
    values, intervals = np.array(values), np.array(intervals)
    inside = (values[None, :] >= intervals[:, :1]) & (values[None, :] <= intervals[:, 1:])
    np.fill_diagonal(inside, False)
    assert 0.8 <= inside.sum() / (draws * (draws - 1)) <= 0.97


class Flat:
    name, fd_column, description, num_classes = "flat", "fd-flat", "", None

    def __init__(self, unavailable: str | None = None) -> None:
        self.reason = unavailable

    def applies_to(self, dataset):
        return True

    def unavailable(self):
        return self.reason


def test_the_column():
    assert [type(m) for m in metrics_for(Flat())] == [FrechetMetric, FrechetInfinityMetric, KidMetric]
    metric = FrechetInfinityMetric(Flat())
    assert (metric.name, metric.kind, metric.direction) == ("fd-flat-inf", "fd-inf", "min")
    rng = np.random.default_rng(5)
    ctx = EvalContext(None, None, None, None, torch.device("cpu"), 0, None)
    samples, real = rng.normal(size=(128, 8)).astype(np.float32) + 0.5, rng.normal(size=(128, 8)).astype(np.float32)
    ctx.memo[("features", "flat")] = (Features(samples), Features(real), False)
    result = metric.compute(ctx)
    fd = FrechetMetric(Flat()).compute(ctx)  # shares the SubsetFrechet through the memo
    assert result.details["fit_points"] == fit_points(128) and result.details["extractor"] == "flat"
    assert result.details["dims"] == 8 and result.details["fit_above_dims"]
    low, high = result.details["interval"]
    assert low < result.value < high < fd.value and result.details["interval_level"] == 0.9
    assert result.details["interval_method"] == "10 splits into halves, scaled to N=128"
    assert "small_n" not in result.details  # never flagged for its N, unlike FD
    assert FrechetInfinityMetric(Flat("no weights")).compute(ctx).unavailable == "no weights"
    ctx = EvalContext(None, None, None, None, torch.device("cpu"), 0, None)  # above 512: halves of a subsample
    ctx.memo[("features", "flat")] = (Features(np.tile(samples, (5, 1))), Features(np.tile(real, (5, 1))), False)
    method = metric.compute(ctx).details["interval_method"]
    assert method == "10 splits into halves of a 512-sample subset, scaled to N=640"
