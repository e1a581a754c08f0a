"""What the host checks of a generator's samples before any metric sees them: the count,
shape and dtype the dataset and N require, finite values, and the [-1, 1] range. A
generator that gets any of these wrong fails its run with the reason; nothing is
clamped without being recorded."""

from __future__ import annotations

from typing import Any

import torch

from harness.api import Dataset
from harness.errors import RunFailed

# Generators with a linear output layer overshoot [-1, 1] a little; that much is clamped
# (and the share recorded). More than this, or any value this far out, is a wrong range.
MAX_CLAMPED_FRACTION = 0.01
MAX_ABS = 2.0
TOLERANCE = 1e-3


def check_batch(images: Any, n: int, dataset: Dataset, name: str) -> torch.Tensor:
    """One ``sample(n, ...)`` result, as the dataset and ``n`` require."""
    if not isinstance(images, torch.Tensor):
        raise RunFailed(f"{name}.sample() returned {type(images).__name__}, expected a tensor")
    if images.ndim != 4 or images.shape[0] != n:
        count = images.shape[0] if images.ndim else 0
        raise RunFailed(f"{name}.sample() returned {count} images (shape {tuple(images.shape)}), expected {n}")
    expected = (dataset.channels, dataset.resolution, dataset.resolution)
    if tuple(images.shape[1:]) != expected:
        raise RunFailed(f"{name}.sample() returned images of shape {tuple(images.shape[1:])}, expected {expected} "
                        f"(channels, height, width) for {dataset.name}")
    if not images.is_floating_point():
        raise RunFailed(f"{name}.sample() returned {images.dtype} images, expected floats in [-1, 1]")
    bad = int((~torch.isfinite(images)).sum())
    if bad:
        raise RunFailed(f"{name}.sample() returned {bad} non-finite values (NaN or inf)")
    return images


def check_range(samples: torch.Tensor, name: str) -> tuple[torch.Tensor, dict[str, float]]:
    """The samples within [-1, 1], and what was clamped to get there (recorded with the
    run); a wrong range fails the run."""
    outside = samples.abs() > 1 + TOLERANCE
    fraction = float(outside.float().mean())
    lo, hi = float(samples.min()), float(samples.max())
    if fraction > MAX_CLAMPED_FRACTION or max(-lo, hi) > MAX_ABS:
        raise RunFailed(f"{name}.sample() returned values in [{lo:.4g}, {hi:.4g}], {fraction:.1%} of them outside "
                        "[-1, 1]; images must lie in [-1, 1]")
    if fraction == 0:
        return samples, {}
    return samples.clamp(-1, 1), {"samples_clamped": fraction}
