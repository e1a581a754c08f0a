"""SampleRNG: per-sample, counter-based randomness for Generator.sample."""

from __future__ import annotations

import torch

from harness import ops
from harness.ops import NoiseSchedule
from harness.rng import SampleRNG, mix_seed, philox4x32_10


def test_randn_does_not_depend_on_the_batch_split():
    whole = SampleRNG(5, 0, 6).randn(3, 4)
    parts = torch.cat([SampleRNG(5, 0, 2).randn(3, 4), SampleRNG(5, 2, 4).randn(3, 4)])
    assert whole.shape == (6, 3, 4) and torch.equal(whole, parts)


def test_draws_are_independent_streams():
    rng = SampleRNG(5, 0, 1000)
    a, b = rng.randn(8), rng.randn(8)
    assert not torch.equal(a, b)
    assert abs(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1].item()) < 0.1
    assert not torch.equal(SampleRNG(6, 0, 4).randn(8), SampleRNG(5, 0, 4).randn(8))
    u = SampleRNG(1, 0, 1000).rand(10)
    assert u.min() > 0 and u.max() < 1 and abs(u.mean().item() - 0.5) < 0.02


def test_kernel_seed_with_offsets_gives_batch_independent_diffusion_noise():
    s = NoiseSchedule("linear", 100)
    x = torch.zeros(6, 1, 4, 4)
    t = torch.full((6,), 50)

    def step(lo, hi):
        rng = SampleRNG(9, lo, hi - lo)
        return ops.ddpm_step(x[lo:hi], x[lo:hi], t[lo:hi], s, seed=rng.kernel_seed(), offset=rng.offset)

    assert torch.equal(step(0, 6), torch.cat([step(0, 1), step(1, 6)]))


def test_mix_seed_is_deterministic_and_spreads():
    assert mix_seed(1, 2) == mix_seed(1, 2) != mix_seed(2, 1)
    assert 0 <= mix_seed(2**70, 3) < 2**63


def test_philox_matches_known_answers():
    """Random123's known-answer vectors for philox4x32-10."""
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for ctr, key, expected in cases:
        counter = torch.tensor([ctr[0] | (ctr[1] << 32) if ctr[1] < 2**31 else ctr[0] | ((ctr[1] - 2**32) << 32)])
        words = philox4x32_10(key[0] | (key[1] << 32), counter, torch.tensor([ctr[2]]), ctr[3])
        assert tuple(int(w) for w in words) == expected
