"""FD∞: the Fréchet distance extrapolated to infinitely many samples (Chong & Forsyth,
"Effectively Unbiased FID and Inception Score and where to find them", CVPR 2020).

FD computed from N samples is biased upward, by about c/N with a c that depends on the
generator, so two FDs at small N are comparable only at the same N, and are not the
distance between the distributions. Chong & Forsyth compute FD at several sample
counts, fit FD linear in 1/N by least squares and take the intercept at 1/N = 0.

Here the real side is small too (the reference set is as large as the sample set), and
its bias is of the same 1/M form, so both sides shrink together: the point at n uses a
random subset of n samples and one of n·M/N real features (the last point is both whole
sets), and the intercept estimates the distance between the two distributions rather
than to the finite reference set. Each point below the whole sets is a mean over a few
seeded subsets; the fit is ordinary least squares on those points, as in the paper.
``tests/test_fd_infinity.py`` checks it against the closed-form distance of Gaussians.
"""

from __future__ import annotations

import numpy as np

from harness.metrics.frechet import SubsetFrechet
from harness.metrics.uncertainty import single_threaded_blas, small_matrices

FIT_POINTS = 8  # sample counts in the fit
SMALLEST_FRACTION = 0.25  # the smallest count, as a fraction of N (the largest is N)
REPEATS = 3  # subsets averaged at each count below N: they lower the fit's noise
# Above LARGE_N samples, 4 counts of one subset each: there each FD costs D×D
# factorizations (tens of seconds in all for Inception's 2048-d on a CPU), the subsets
# are large and their FDs barely noisy, and FD's bias, hence FD∞'s correction, is small.
LARGE_N, LARGE_N_POINTS = 2048, 4


def fit_points(n: int, points: int = FIT_POINTS, smallest: float = SMALLEST_FRACTION) -> list[int]:
    """The sample counts of the fit: ``points`` counts evenly spaced from ``smallest``·n
    (at least 2) to n, without repeats."""
    low = max(2, round(smallest * n))
    return sorted({round(float(c)) for c in np.linspace(low, n, points)})


def extrapolate(counts, values) -> float:
    """The intercept at 1/n = 0 of the least-squares line of ``values`` against 1/n."""
    inv = 1.0 / np.asarray(counts, np.float64)
    if len(inv) < 2 or np.ptp(inv) == 0:
        raise ValueError("extrapolate: needs at least two different sample counts")
    _slope, intercept = np.polyfit(inv, np.asarray(values, np.float64), 1)
    return float(intercept)


def fd_infinity(fd: SubsetFrechet, seed: int = 0, points: int | None = None, smallest: float = SMALLEST_FRACTION,
                repeats: int | None = None, rows: np.ndarray | None = None) -> tuple[float, list[int]]:
    """FD∞ of ``fd``'s samples against its real features, and the sample counts fitted.

    ``points`` and ``repeats`` default to 8 counts of 3 subsets, 4 of 1 above LARGE_N.
    ``rows`` restricts the samples to those indices (the real features stay whole): the
    same estimator on a subset, which is what the sampling interval of FD∞ needs."""
    whole = rows is None
    rows = np.arange(len(fd.x)) if rows is None else np.asarray(rows)
    n_all, m_all = len(rows), len(fd.y)
    large = n_all > LARGE_N
    points = points or (LARGE_N_POINTS if large else FIT_POINTS)
    repeats = repeats or (1 if large else REPEATS)
    rng = np.random.default_rng([seed, 3])
    counts = fit_points(n_all, points, smallest)
    values = []
    with single_threaded_blas(when=small_matrices(n_all, m_all, fd.x.shape[1])):
        for n in counts:
            if n == n_all:  # the whole sets: one value
                values.append(fd.distance(None if whole else rows))
                continue
            m = max(2, round(n * m_all / n_all))  # the real side shrinks in step: its bias is 1/M too
            subsets = [(rng.choice(rows, n, replace=False), rng.choice(m_all, m, replace=False))
                       for _ in range(repeats)]
            values.append(float(np.mean([fd.distance(i, j) for i, j in subsets])))
    return extrapolate(counts, values), counts
