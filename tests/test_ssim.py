"""harness.metrics.ssim equals skimage's structural_similarity with Wang et al.'s
parameters to 1e-5, on grayscale, RGB and non-square images; nearest-real SSIM takes the
best match in a reference set that is a fixed seeded draw from the whole test split."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from harness.api import Dataset, EvalContext, TensorSplit
from harness.builtins import NEAREST_REAL_REFERENCES, NEAREST_REAL_SEED, SsimMetric
from harness.metrics import nearest_real_ssim, ssim, ssim_per_image
from harness.metrics.ssim import reference_indices
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


def test_reference_indices_are_a_seeded_draw_from_the_whole_split():
    a = reference_indices(1000, 128, seed=0)
    assert torch.equal(a, reference_indices(1000, 128, seed=0))  # the same seed, the same set
    assert not torch.equal(a.sort().values, reference_indices(1000, 128, seed=1).sort().values)
    assert a.unique().numel() == 128 and a.max() > 500  # distinct, from all of the split
    assert not torch.equal(a.sort().values, torch.arange(128))  # not the first items
    assert sorted(reference_indices(50, 128, seed=0).tolist()) == list(range(50))  # a small split: all of it


def _nearest_real_context(samples: torch.Tensor, test: torch.Tensor, seed: int, n_real: int) -> EvalContext:
    """What ``evaluate`` passes the SSIM metric for an unconditional generator: ``real``
    is the budget's first ``n_real`` test items."""
    split = TensorSplit(test)
    data = Dataset("noise", test.shape[-1], test.shape[1], split, split, split)
    generator = SimpleNamespace(ssim_kind="nearest-real")
    return EvalContext(generator, data, samples, None, torch.device("cpu"), seed, split.get(torch.arange(n_real)))


def test_nearest_real_references_are_fixed_by_the_split_not_the_run():
    """The reference set is the fixed seeded draw from the whole test split, whatever
    the run's seed and the budget's N: samples equal to drawn items score exactly 1 (each
    finds itself), and items outside the draw, the first ones included, do not."""
    test = torch.rand(300, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    drawn = reference_indices(300, NEAREST_REAL_REFERENCES, NEAREST_REAL_SEED)
    for seed, n_real in ((0, 64), (7, 300)):
        result = SsimMetric().compute(_nearest_real_context(test[drawn[:8]], test, seed, n_real))
        assert result.value == pytest.approx(1.0, abs=1e-12)
        assert result.details == {"kind": "nearest-real", "n": 8, "data_range": 2.0, "references": 128}
    outside = [i for i in range(300) if i not in set(drawn.tolist())][:8]
    assert outside[0] < 8  # some of the first items are not references
    result = SsimMetric().compute(_nearest_real_context(test[outside], test, 0, 300))
    assert result.value < 0.5  # noise against other noise
