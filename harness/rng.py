"""Counter-based randomness for sampling: a sample's noise depends on its index, not its batch.

The Philox4x32-10 generator (bit-exact with the kernels' in-kernel noise) lives here, not in
:mod:`harness.ops`, so that ``import harness`` does not load the compiled extension.
"""

from __future__ import annotations

import math

import torch

_MASK63 = (1 << 63) - 1


def mix_seed(*parts: int) -> int:
    """Mixes integers into one 63-bit seed (splitmix64 finaliser), for independent streams."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h & _MASK63


# ---- Philox4x32-10 in int64 tensor arithmetic (bit-exact with csrc/common.h) ----------

_M32 = 0xFFFFFFFF


def _mulhilo(a: int, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(lo, hi) 32-bit halves of a * b for a constant a and uint32 values b (int64)."""
    b_lo, b_hi = b & 0xFFFF, b >> 16
    lo_part, hi_part = a * b_lo, a * b_hi  # each < 2**48: no int64 overflow
    mid = lo_part + ((hi_part & 0xFFFF) << 16)
    return mid & _M32, (hi_part >> 16) + (mid >> 32)


def philox4x32_10(seed: int, counter: torch.Tensor, stream: torch.Tensor,
                  word3: int = 0) -> list[torch.Tensor]:
    """Four uint32 outputs (as int64) per 128-bit counter (counter as words 0-1, stream as
    word 2, ``word3``; the kernels use 0), keyed by a 64-bit seed."""
    c0, c1 = counter & _M32, (counter >> 32) & _M32
    c2, c3 = stream & _M32, torch.full_like(counter, word3)
    k0, k1 = seed & _M32, (seed >> 32) & _M32
    for _ in range(10):
        lo0, hi0 = _mulhilo(0xD2511F53, c0)
        lo1, hi1 = _mulhilo(0xCD9E8D57, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
    return [c0, c1, c2, c3]


def philox_normal(seed: int, index: torch.Tensor, stream: torch.Tensor) -> torch.Tensor:
    """The standard normal the kernels draw for global element ``index`` at timestep ``stream``."""
    words = philox4x32_10(seed, index >> 2, stream)
    unit = [w.to(torch.float32) * 2.3283064365386963e-10 + 1.1641532182693481e-10 for w in words]
    radius = [torch.sqrt(-2 * torch.log(unit[2 * p])) for p in range(2)]
    angle = [2 * math.pi * unit[2 * p + 1] for p in range(2)]
    normals = torch.stack(
        [radius[0] * torch.cos(angle[0]), radius[0] * torch.sin(angle[0]),
         radius[1] * torch.cos(angle[1]), radius[1] * torch.sin(angle[1])]
    )
    return normals.gather(0, (index & 3).unsqueeze(0)).squeeze(0)


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
