"""Fused operators: ``bias_act_upsample``, ``q_sample``, ``ddpm_step``, ``ddim_step``.

Plugins call these functions; which implementation runs (CUDA kernel, CPU kernel or
the pure-PyTorch reference) is decided per call by :func:`backend_for` and recorded
with every run. See docs/ops.md.
"""

from __future__ import annotations

import torch

from . import reference
from ._backend import (
    BUILD_INFO,
    LOAD_ERROR,
    backend_for,
    built_backends,
    setting,
    use_backend,
)
from .schedule import NoiseSchedule

if BUILD_INFO.get("cpu"):
    from ._registration import register as _register

    _register()

__all__ = [
    "BUILD_INFO",
    "LOAD_ERROR",
    "NoiseSchedule",
    "backend_for",
    "bias_act_upsample",
    "built_backends",
    "ddim_step",
    "ddpm_step",
    "q_sample",
    "reference",
    "setting",
    "use_backend",
]


def bias_act_upsample(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    act: str = "lrelu",
    alpha: float = 0.2,
    gain: float = 1.0,
    scale: int = 2,
    mode: str = "nearest",
) -> torch.Tensor:
    """``upsample(gain * act(x + bias))`` in one pass, differentiable in ``x`` and ``bias``.

    Args:
        x: ``(N, C, H, W)`` float32/float16/bfloat16, NCHW or channels_last.
        bias: ``(C,)`` of x's dtype, or None for no bias.
        act: ``linear``, ``relu``, ``lrelu`` (slope ``alpha``) or ``silu``.
        gain: factor applied after the activation.
        scale: integer upsampling factor (1..8).
        mode: ``nearest`` or ``bilinear`` (``align_corners=False``, as ``F.interpolate``).

    >>> y = bias_act_upsample(torch.randn(2, 8, 4, 4), torch.zeros(8))
    >>> tuple(y.shape)
    (2, 8, 8, 8)
    """
    if bias is None:
        bias = x.new_zeros(x.shape[1] if x.dim() == 4 else 0)
    if backend_for(x.device) == "reference":
        return reference.bias_act_upsample(x, bias, act, alpha, gain, scale, mode)
    return torch.ops.genbench.bias_act_upsample.default(x, bias, act, float(alpha), float(gain), scale, mode)


def _per_sample(t: torch.Tensor | int, x: torch.Tensor) -> torch.Tensor:
    if isinstance(t, int):
        return torch.full((x.shape[0],), t, dtype=torch.int64, device=x.device)
    return t


def q_sample(
    x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | int, schedule: NoiseSchedule
) -> torch.Tensor:
    """Forward diffusion: ``sqrt(abar_t) * x0 + sqrt(1 - abar_t) * noise``.

    ``t`` is an int64 tensor on x0's device with one timestep per sample (or an int for
    all); the coefficients are gathered on the device, with no host sync.
    """
    t = _per_sample(t, x0)
    table = schedule.table(x0.device)
    if backend_for(x0.device) == "reference":
        return reference.q_sample(x0, noise, t, table)
    return torch.ops.genbench.q_sample.default(x0, noise, t, table)


def ddpm_step(
    x_t: torch.Tensor,
    eps_hat: torch.Tensor,
    t: torch.Tensor | int,
    schedule: NoiseSchedule,
    noise: torch.Tensor | None = None,
    seed: int | None = None,
    clip_x0: bool = True,
    offset: int = 0,
) -> torch.Tensor:
    """One DDPM reverse step ``x_t -> x_{t-1}`` in one pass.

    Noise is ``noise`` when given; otherwise it is drawn in-kernel from Philox keyed by
    (``seed``, global element index, t), where the global index counts from sample
    ``offset`` of the whole sampling run. Splitting a batch into chunks with the right
    offsets therefore gives the same samples as one big batch.
    """
    t = _per_sample(t, x_t)
    seed = _resolve_seed(seed, noise)
    table = schedule.table(x_t.device)
    if backend_for(x_t.device) == "reference":
        return reference.ddpm_step(x_t, eps_hat, t, table, noise, seed, offset, clip_x0)
    return torch.ops.genbench.ddpm_step.default(x_t, eps_hat, t, table, noise, seed, offset, clip_x0)


def ddim_step(
    x_t: torch.Tensor,
    eps_hat: torch.Tensor,
    t: torch.Tensor | int,
    t_prev: torch.Tensor | int,
    schedule: NoiseSchedule,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
    seed: int | None = None,
    clip_x0: bool = True,
    offset: int = 0,
) -> torch.Tensor:
    """One DDIM step ``x_t -> x_{t_prev}`` (``t_prev = -1`` for the last step).

    ``eta = 0`` is deterministic DDIM; ``eta = 1`` matches DDPM's variance. Noise, when
    needed, follows the same rules as :func:`ddpm_step`.
    """
    t, t_prev = _per_sample(t, x_t), _per_sample(t_prev, x_t)
    seed = _resolve_seed(seed, noise)
    table = schedule.table(x_t.device)
    if backend_for(x_t.device) == "reference":
        return reference.ddim_step(x_t, eps_hat, t, t_prev, table, eta, noise, seed, offset, clip_x0)
    return torch.ops.genbench.ddim_step.default(
        x_t, eps_hat, t, t_prev, table, float(eta), noise, seed, offset, clip_x0
    )


def _resolve_seed(seed: int | None, noise: torch.Tensor | None) -> int:
    if seed is not None:
        if not 0 <= seed < 2**63:
            raise ValueError(f"seed must be in [0, 2**63), got {seed}")
        return seed
    if noise is not None:
        return 0
    # Drawn from torch's default CPU generator, so torch.manual_seed makes it reproducible.
    return int(torch.randint(0, 2**62, (1,)).item())
