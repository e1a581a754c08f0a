"""SSIM with Wang et al.'s parameters (11x11 Gaussian window, sigma 1.5, K1 0.01,
K2 0.03), an explicit data range, population covariances and the valid region only.

It equals ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=...)`` (tests/test_ssim.py checks 1e-5).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SIGMA, TRUNCATE, K1, K2 = 1.5, 3.5, 0.01, 0.03
RADIUS = int(TRUNCATE * SIGMA + 0.5)  # 5, as scipy.ndimage.gaussian_filter: an 11x11 window


def _window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(-RADIUS, RADIUS + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / SIGMA) ** 2)
    return (w / w.sum()).to(dtype=dtype, device=device)


def _filter(img: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter of (B, H, W) maps, valid region only."""
    k = w.numel()
    img = img.unsqueeze(1)
    img = F.conv2d(img, w.view(1, 1, 1, k))
    img = F.conv2d(img, w.view(1, 1, k, 1))
    return img.squeeze(1)


def _check(a: torch.Tensor, b: torch.Tensor, data_range: float) -> None:
    if a.dim() != 4 or a.shape != b.shape:
        raise ValueError(f"ssim: need two NCHW tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if min(a.shape[-2:]) < 2 * RADIUS + 1:
        raise ValueError(f"ssim: images must be at least {2 * RADIUS + 1}x{2 * RADIUS + 1}, got {tuple(a.shape[-2:])}")
    if not data_range or data_range <= 0 or not math.isfinite(data_range):
        raise ValueError(f"ssim: data_range must be a positive number, got {data_range!r}")


def ssim_per_image(a: torch.Tensor, b: torch.Tensor, data_range: float) -> torch.Tensor:
    """Mean SSIM of each image pair (mean over channels of the valid-region SSIM map), (N,)."""
    _check(a, b, data_range)
    n, c, h, wd = a.shape
    dtype = torch.float64 if a.device.type == "cpu" else torch.float32
    x = a.to(dtype).reshape(n * c, h, wd)
    y = b.to(dtype).reshape(n * c, h, wd)
    w = _window(dtype, a.device)
    ux, uy = _filter(x, w), _filter(y, w)
    vx = _filter(x * x, w) - ux * ux
    vy = _filter(y * y, w) - uy * uy
    vxy = _filter(x * y, w) - ux * uy
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2)).view(n, c).mean(dim=1)


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float) -> float:
    """Mean SSIM over a batch of image pairs (NCHW tensors of one shape).

    >>> x = torch.rand(2, 1, 16, 16)
    >>> round(ssim(x, x, data_range=1.0), 6)
    1.0
    """
    return float(ssim_per_image(a, b, data_range).mean())


def reference_indices(n_items: int, k: int, seed: int) -> torch.Tensor:
    """Which ``min(k, n_items)`` items of a split make a nearest-real reference set: a
    uniform draw without replacement by ``seed`` over the whole split, so it does not
    depend on how many items a budget uses, and is unbiased whatever the split's order.

    >>> reference_indices(10, 3, seed=0).tolist() == reference_indices(10, 3, seed=0).tolist()
    True
    """
    return torch.randperm(n_items, generator=torch.Generator().manual_seed(seed))[:k]


def nearest_real_ssim(samples: torch.Tensor, reals: torch.Tensor, data_range: float,
                      chunk: int = 64) -> torch.Tensor:
    """For each sample, the highest SSIM against any image of ``reals``; (N,)."""
    n, r = samples.shape[0], reals.shape[0]
    best = torch.full((n,), -1.0, dtype=torch.float64)
    for i in range(0, n, chunk):
        s = samples[i:i + chunk]
        k = s.shape[0]
        a = s.repeat_interleave(r, dim=0)
        b = reals.repeat(k, 1, 1, 1)
        scores = ssim_per_image(a, b, data_range).view(k, r).max(dim=1).values
        best[i:i + k] = scores.double().cpu()
    return best
