"""The Fréchet distance between two Gaussians, and KID, in any feature space.

``frechet_distance`` is computed in float64 with the trace of the matrix square root
taken from eigenvalues, so it never fails on rank-deficient covariances (fewer samples
than dimensions) or returns an "imaginary component". ``tests/test_frechet.py`` checks it
against pytorch-fid's ``calculate_frechet_distance`` and a closed form.
"""

from __future__ import annotations

import numpy as np


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ1 − μ2‖² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1Σ2)^½).

    tr((Σ1Σ2)^½) is the sum of the square roots of the eigenvalues of Σ1Σ2. They are
    taken from the symmetric matrix Σ1^½ Σ2 Σ1^½, which has the same eigenvalues and
    whose eigenvalues are real: ``eigvalsh`` on it is stable where ``sqrtm`` is not.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"frechet_distance: shapes do not match: mu {mu1.shape} vs {mu2.shape}, "
                         f"sigma {s1.shape} vs {s2.shape}")
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ s2 @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64, rowvar=False) of an (N, D) feature array."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int, coef0: float) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + coef0) ** degree
    kyy = (y @ y.T / d + coef0) ** degree
    kxy = (x @ y.T / d + coef0) ** degree
    m, n = x.shape[0], y.shape[0]
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid(feats_a, feats_b, subsets: int = 100, subset_size: int = 1000, degree: int = 3,
        coef0: float = 1.0, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² with the
    polynomial kernel (x·y/d + coef0)^degree, averaged over seeded random subsets.
    Returns (mean, std) over the subsets; the subset size is capped by the smaller set,
    and when that leaves both sets whole there is one subset and the std is 0."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"kid: need two (N, D) feature arrays of one D, got {a.shape} and {b.shape}")
    size = min(subset_size, a.shape[0], b.shape[0])
    if size < 2:
        raise ValueError("kid: needs at least 2 samples in each set")
    if size == a.shape[0] == b.shape[0]:  # every subset would be both whole sets
        return _mmd2_unbiased(a, b, degree, coef0), 0.0
    rng = np.random.default_rng(seed)
    values = [_mmd2_unbiased(a[rng.choice(a.shape[0], size, replace=False)],
                             b[rng.choice(b.shape[0], size, replace=False)], degree, coef0)
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))
