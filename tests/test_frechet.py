"""frechet_distance against pytorch-fid and a closed form; KID against a direct
O(n²) computation."""

from __future__ import annotations

import numpy as np
import pytest
from pytorch_fid.fid_score import calculate_frechet_distance

from harness.metrics import frechet_distance, kid, statistics


def test_matches_pytorch_fid_on_random_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 16))
    b = rng.normal(size=(2000, 16)) @ rng.normal(size=(16, 16)) * 0.5 + 0.3
    mu1, s1 = statistics(a)
    mu2, s2 = statistics(b)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(calculate_frechet_distance(mu1, s1, mu2, s2), rel=1e-6)


def test_closed_form_for_diagonal_covariances():
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(mu1, np.diag(var1), mu1, np.diag(var1)) == pytest.approx(0, abs=1e-9)


def test_rank_deficient_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(20, 64)) + 0.1  # N < D: singular covariances
    mu1, s1 = statistics(a)
    mu2, s2 = statistics(b)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(ours) and ours > 0
    assert ours == pytest.approx(calculate_frechet_distance(mu1, s1, mu2, s2), rel=1e-4)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def direct_mmd2(x, y, degree=3, coef0=1.0):
    d = x.shape[1]
    k = lambda p, q: (p @ q / d + coef0) ** degree  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_direct_computation():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 0.5
    mean, std = kid(a, b, subsets=1, subset_size=30)
    assert mean == pytest.approx(direct_mmd2(a, b), rel=1e-10) and std == 0
    same, _ = kid(a[:15], a[15:], subsets=20, subset_size=15)
    differ, _ = kid(a, b, subsets=20, subset_size=15)
    assert abs(same) < differ  # unbiased: near 0 for one distribution
    assert kid(a, b, subsets=5, subset_size=10, seed=3) == kid(a, b, subsets=5, subset_size=10, seed=3)


def test_kid_on_whole_sets_is_one_exact_value():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(12, 4)), rng.normal(size=(12, 4))
    assert kid(a, b, subsets=20, subset_size=100) == (pytest.approx(direct_mmd2(a, b), rel=1e-10), 0.0)
