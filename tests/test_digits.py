"""The bundled digits dataset: resolutions, seeded disjoint splits, labels, the stated
resize method and a clear error for a resolution it does not offer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.datasets import digits
from harness.errors import UsageError


@pytest.mark.parametrize("resolution", [8, 16, 32])
def test_shapes_range_and_labels(resolution):
    d = digits.build(seed=0, resolution=resolution)
    assert (d.resolution, d.channels, d.num_classes) == (resolution, 1, 10)
    assert (len(d.test), len(d.val), len(d.train)) == (360, 180, 1257)
    batch = d.train.get(torch.arange(len(d.train)))
    assert batch.images.shape == (1257, 1, resolution, resolution)
    assert batch.images.min() >= -1 and batch.images.max() <= 1
    assert set(batch.labels.tolist()) == set(range(10))
    assert d.options["resize"] == digits.RESIZE_METHOD


def test_resize_is_the_stated_bilinear_of_the_8x8_images():
    small, big = digits.build(seed=3, resolution=8), digits.build(seed=3, resolution=32)
    expected = F.interpolate(small.test.images, size=(32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(big.test.images, expected)


def test_splits_are_seeded_and_disjoint():
    a, b, c = digits.build(seed=0, resolution=8), digits.build(seed=0, resolution=8), digits.build(seed=1, resolution=8)
    assert torch.equal(a.test.images, b.test.images) and not torch.equal(a.test.images, c.test.images)
    flat = lambda split: {tuple(x.flatten().tolist()) for x in split.images}  # noqa: E731
    # sklearn's digits hold a few exact duplicates, so disjointness is checked by count.
    assert len(flat(a.test) & flat(a.train)) <= 5 and len(flat(a.val) & flat(a.test)) <= 5


def test_bad_resolution_is_named():
    with pytest.raises(UsageError, match="resolution must be one of 8, 16, 32, got 28"):
        digits.build(resolution=28)
