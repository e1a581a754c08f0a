"""scikit-learn's bundled handwritten digits: 1,797 8x8 grayscale images (intensity
0-16) with labels 0-9, offered at 8x8 or resized to 16x16 or 32x32.

Resize method: bilinear interpolation with ``align_corners=False`` (half-pixel centres,
as PIL and OpenCV resize), applied to the [-1, 1] images; no antialiasing is needed
because it only ever enlarges. The data ship with scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from harness.api import Dataset, TensorSplit
from harness.errors import UsageError

RESOLUTIONS = (8, 16, 32)
TEST_SIZE, VAL_SIZE = 360, 180
RESIZE_METHOD = "bilinear, align_corners=False"


@functools.lru_cache(maxsize=1)
def _load() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = torch.from_numpy(d.images).float().unsqueeze(1) / 16 * 2 - 1
    return images, torch.from_numpy(d.target).long()


def resize(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """8x8 digits at ``resolution`` by the stated method."""
    if images.shape[-1] == resolution:
        return images.clone()
    return F.interpolate(images, size=(resolution, resolution), mode="bilinear", align_corners=False)


def build(seed: int = 0, resolution: int = 32) -> Dataset:
    """Seeded disjoint test (360), validation (180) and train (1,257) splits."""
    if resolution not in RESOLUTIONS:
        raise UsageError(f"digits: resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")
    images, labels = _load()
    images = resize(images, resolution)
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    parts = order[:TEST_SIZE], order[TEST_SIZE:TEST_SIZE + VAL_SIZE], order[TEST_SIZE + VAL_SIZE:]
    test, val, train = (TensorSplit(images[i], labels=labels[i]) for i in parts)
    return Dataset(
        name="digits", resolution=resolution, channels=1, train=train, val=val, test=test, num_classes=10,
        options={"resolution": resolution, "split_seed": seed, "resize": RESIZE_METHOD},
        description="scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes)",
    )
