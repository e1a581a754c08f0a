"""Mode coverage: classes covered and KL(samples ‖ real) of class histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.metrics.coverage import class_kl, class_shares, classes_covered


def test_balanced_samples_cover_every_class_with_zero_kl():
    classes = np.arange(1000) % 10
    assert classes_covered(classes, 10) == 10
    assert class_kl(classes, classes, 10) == pytest.approx(0, abs=1e-3)


def test_collapse_to_one_class():
    real = np.arange(1200) % 12
    collapsed = np.full(500, 4)
    assert classes_covered(collapsed, 12) == 1
    # All mass on one class holding 1/12 of the (smoothed) real data: KL = log 12.
    assert class_kl(collapsed, real, 12) == pytest.approx(math.log(12), rel=1e-3)


def test_a_rare_class_is_not_covered():
    # Class 9 gets 1% of the samples: under a quarter of its uniform share (2.5%).
    classes = np.concatenate([np.arange(990) % 9, np.full(10, 9)])
    assert classes_covered(classes, 10) == 9


def test_kl_is_finite_when_the_real_set_misses_a_class():
    real = np.arange(100) % 9  # class 9 never predicted on real data
    assert np.isfinite(class_kl(np.arange(100) % 10, real, 10))


def test_shares_sum_to_one():
    s = class_shares(np.array([0, 0, 2]), 4, pseudocount=0.5)
    assert s.sum() == pytest.approx(1) and s[1] == pytest.approx(0.5 / 5)
