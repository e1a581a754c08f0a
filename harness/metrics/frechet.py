"""The Fréchet distance between two Gaussians, and KID, in any feature space.

``frechet_distance`` is computed in float64 with the trace of the matrix square root
taken from eigenvalues, so it never fails on rank-deficient covariances (fewer samples
than dimensions) or returns an "imaginary component". ``tests/test_frechet.py`` checks it
against pytorch-fid's ``calculate_frechet_distance`` and a closed form.

``SubsetFrechet`` computes the same distance between subsets of two fixed feature sets,
many times over, as the sampling intervals and FD∞ need: it pays for the expensive parts
(a d×d root, or the Gram matrices) once.
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


def _factor(s: np.ndarray) -> np.ndarray:
    """A factor L of a covariance, Σ = L·Lᵀ: its Cholesky factor (cheap), or where Σ is
    singular (fewer samples than dimensions) its symmetric root, negative rounding noise
    clipped. Σx·Σy has the eigenvalues of the symmetric Lᵀ·Σx·L either way."""
    try:
        return np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh((s + s.T) / 2)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _sum_sqrt_eig(m: np.ndarray) -> float:
    """Σ √λ over the eigenvalues of a symmetric PSD matrix (rounding noise clipped)."""
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())


class SubsetFrechet:
    """FD between a subset of the samples' features ``x`` (N, D) and a subset of the real
    features ``y`` (M, D), for many subsets: ``distance(i, j)`` with index arrays, None
    meaning the whole set. Equal to ``frechet_distance`` of the subsets' statistics.

    Two ways, chosen by which is cheaper (the cost of one distance is about
    min(n, m, D)³):

    - no more samples than dimensions in either set (Inception's 2048-d at N = 512):
      from the Gram matrices, computed once (N², M² and N·M floats). tr((ΣxΣy)^½) is the sum of the singular values of
      Xc·Ycᵀ/√((n−1)(m−1)) (ΣxΣy = XcᵀXc·YcᵀYc/… has the nonzero eigenvalues of
      (XcYcᵀ)(XcYcᵀ)ᵀ), and Xc·Ycᵀ is the double-centred block of X·Yᵀ: no D×D matrix
      at all, and the zero eigenvalues of a rank-deficient covariance never enter.
    - otherwise: the subsets' covariances, with the real set's whole-set factor cached.
    """

    def __init__(self, x, y) -> None:
        self.x, self.y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if self.x.ndim != 2 or self.y.ndim != 2 or self.x.shape[1] != self.y.shape[1]:
            raise ValueError(f"SubsetFrechet: need two (N, D) arrays of one D, got {self.x.shape}, {self.y.shape}")
        self.gram = max(len(self.x), len(self.y)) <= self.x.shape[1]
        if self.gram:
            self.gxx, self.gyy, self.gxy = self.x @ self.x.T, self.y @ self.y.T, self.x @ self.y.T
        self._whole_factor: np.ndarray | None = None

    def distance(self, i: np.ndarray | None = None, j: np.ndarray | None = None) -> float:
        """FD between ``x[i]`` and ``y[j]`` (each at least 2 rows; None: the whole set)."""
        if self.gram:
            return self._from_grams(i, j)
        (mx, sx), (my, sy) = _moments(self.x if i is None else self.x[i]), _moments(self.y if j is None else self.y[j])
        if j is None:
            if self._whole_factor is None:
                self._whole_factor = _factor(sy)
            factor = self._whole_factor
        else:
            factor = _factor(sy)
        diff = mx - my
        return float(diff @ diff + np.trace(sx) + np.trace(sy) - 2 * _sum_sqrt_eig(factor.T @ sx @ factor))

    def _from_grams(self, i: np.ndarray | None, j: np.ndarray | None) -> float:
        gx, gy, c = _block(self.gxx, i, i), _block(self.gyy, j, j), _block(self.gxy, i, j)
        n, m = gx.shape[0], gy.shape[0]
        mean_diff2 = gx.mean() + gy.mean() - 2 * c.mean()  # ‖x̄ − ȳ‖²
        tr_x = (np.trace(gx) - n * gx.mean()) / (n - 1)  # Σ‖xₖ − x̄‖² / (n − 1)
        tr_y = (np.trace(gy) - m * gy.mean()) / (m - 1)
        cc = c - c.mean(axis=1, keepdims=True) - c.mean(axis=0, keepdims=True) + c.mean()  # Xc·Ycᵀ
        # Its singular values are the square roots of the eigenvalues of the smaller product.
        tr_covmean = _sum_sqrt_eig(cc @ cc.T if n <= m else cc.T @ cc) / np.sqrt((n - 1) * (m - 1))
        return float(mean_diff2 + tr_x + tr_y - 2 * tr_covmean)


def _block(g: np.ndarray, i: np.ndarray | None, j: np.ndarray | None) -> np.ndarray:
    """The rows ``i`` and columns ``j`` of a Gram matrix (None: all)."""
    if i is None:
        return g if j is None else g[:, j]
    return g[i] if j is None else g[np.ix_(i, j)]


def _moments(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``statistics`` without np.cov's overhead, for the many small subsets."""
    mean = f.mean(axis=0)
    centred = f - mean
    return mean, centred.T @ centred / (len(f) - 1)


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
