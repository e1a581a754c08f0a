"""harness.metrics.ssim equals skimage's structural_similarity with Wang et al.'s
parameters to 1e-5, on grayscale, RGB and non-square images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from harness.metrics import nearest_real_ssim, ssim, ssim_per_image
from tests.conftest import devices


def skimage_ssim(a: torch.Tensor, b: torch.Tensor, data_range: float) -> float:
    scores = [
        structural_similarity(x.double().numpy(), y.double().numpy(), gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=data_range, channel_axis=0)
        for x, y in zip(a, b, strict=True)
    ]
    return float(np.mean(scores))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", [(3, 1, 32, 32), (2, 3, 32, 32), (2, 1, 17, 40), (1, 3, 64, 23)])
@pytest.mark.parametrize("noise", [0.05, 0.5])
def test_matches_skimage(device, shape, noise):
    g = torch.Generator().manual_seed(1)
    a = torch.rand(shape, generator=g) * 2 - 1
    b = (a + noise * torch.randn(shape, generator=g)).clamp(-1, 1)
    ours = ssim(a.to(device), b.to(device), data_range=2.0)
    assert ours == pytest.approx(skimage_ssim(a, b, 2.0), abs=1e-5)


def test_data_range_matters_and_identity_is_one():
    a = torch.rand(2, 1, 16, 16)
    b = a * 0.9
    assert ssim(a, a, 1.0) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, b, 1.0) == pytest.approx(skimage_ssim(a, b, 1.0), abs=1e-5)
    assert ssim(a, b, 255.0) > ssim(a, b, 1.0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="one shape"):
        ssim(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 15), 1.0)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8), 1.0)
    with pytest.raises(ValueError, match="data_range"):
        ssim(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16), 0)


def test_nearest_real_picks_the_best_match():
    refs = torch.rand(5, 1, 16, 16) * 2 - 1
    samples = refs[[3, 1]] + 0.01 * torch.randn(2, 1, 16, 16)
    best = nearest_real_ssim(samples, refs, 2.0)
    direct = torch.stack([ssim_per_image(s.expand(5, -1, -1, -1), refs, 2.0).max() for s in samples])
    torch.testing.assert_close(best, direct.double())
    assert (best > 0.99).all()
