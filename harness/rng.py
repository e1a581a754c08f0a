"""Counter-based randomness for sampling: a sample's noise depends on its index, not its batch."""

from __future__ import annotations

import torch

from harness.ops.reference import philox_normal

_MASK63 = (1 << 63) - 1


def mix_seed(*parts: int) -> int:
    """Mixes integers into one 63-bit seed (splitmix64 finaliser), for independent streams."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h & _MASK63


class SampleRNG:
    """The randomness handed to ``Generator.sample``.

    It stands for samples ``offset .. offset + n - 1`` of a sampling run with ``seed``.
    Every draw is keyed by (seed, draw number, global sample index, element), so the
    same sample gets the same noise whatever batch it is drawn in.

    >>> a = SampleRNG(seed=1, offset=0, n=4).randn(3)
    >>> b = SampleRNG(seed=1, offset=2, n=2).randn(3)
    >>> bool(torch.equal(a[2:], b))
    True
    """

    def __init__(self, seed: int, offset: int, n: int, device: torch.device | str = "cpu") -> None:
        self.seed, self.offset, self.n = seed, offset, n
        self.device = torch.device(device)
        self._draws = 0

    def _next_key(self) -> int:
        self._draws += 1
        return mix_seed(self.seed, self._draws)

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normals of shape ``(n, *shape)``, one independent stream per sample."""
        per_sample = 1
        for s in shape:
            per_sample *= s
        first = self.offset * per_sample
        index = torch.arange(first, first + self.n * per_sample, dtype=torch.int64)
        z = philox_normal(self._next_key(), index, torch.zeros_like(index))
        return z.view(self.n, *shape).to(self.device)

    def rand(self, *shape: int) -> torch.Tensor:
        """Uniforms in (0, 1) of shape ``(n, *shape)``, batch-independent like :meth:`randn`."""
        return torch.special.ndtr(self.randn(*shape))

    def kernel_seed(self) -> int:
        """A seed for the fused ops' in-kernel Philox noise; pass ``offset`` along with it."""
        return self._next_key()
