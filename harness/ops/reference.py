"""Pure-PyTorch reference implementations of the fused ops.

They are the oracle in the tests and the fallback when the compiled extension is
missing or ``GENBENCH_OPS=reference``. They favour clarity over speed, compute in
float32 (float64 for float64 inputs) like the kernels, and validate their inputs with
the same messages as the kernels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.rng import philox_normal

from . import _checks
from .schedule import TABLE_ROWS

TABLE = {name: i for i, name in enumerate(TABLE_ROWS)}


def _math_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def activation(y: torch.Tensor, act: str, alpha: float) -> torch.Tensor:
    if act == "linear":
        return y
    if act == "relu":
        return F.relu(y)
    if act == "lrelu":
        return F.leaky_relu(y, alpha)
    if act == "silu":
        return F.silu(y)
    raise ValueError(f"bias_act_upsample: unknown act {act!r}; expected one of {_checks.ACTS}")


def bias_act_upsample(
    x: torch.Tensor,
    bias: torch.Tensor,
    act: str = "lrelu",
    alpha: float = 0.2,
    gain: float = 1.0,
    scale: int = 2,
    mode: str = "nearest",
) -> torch.Tensor:
    """upsample(gain * act(x + bias)), as ``F.interpolate`` (align_corners=False)."""
    fmt = _checks.bias_act_upsample(x, bias, act, scale, mode)
    y = x.to(_math_dtype(x.dtype)) + bias.to(_math_dtype(x.dtype)).view(1, -1, 1, 1)
    y = gain * activation(y, act, alpha)
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    out = F.interpolate(y, scale_factor=scale, mode=mode, **kwargs)
    return out.to(x.dtype).contiguous(memory_format=fmt)


def _gather(table: torch.Tensor, row: str, t: torch.Tensor, ndim: int) -> torch.Tensor:
    return table[TABLE[row]][t].view(-1, *([1] * (ndim - 1)))


def q_sample(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(abar_t) * x0 + sqrt(1 - abar_t) * noise, one t per sample."""
    _checks.schedule_args(x0, noise, t, table, "q_sample", "noise")
    md = _math_dtype(x0.dtype)
    a = _gather(table, "sqrt_abar", t, x0.dim()).to(md)
    b = _gather(table, "sqrt_one_minus_abar", t, x0.dim()).to(md)
    return (a * x0.to(md) + b * noise.to(md)).to(x0.dtype).contiguous()


def step_noise(x: torch.Tensor, t: torch.Tensor, seed: int, offset: int) -> torch.Tensor:
    """Philox noise for a batch whose first sample is sample ``offset`` of the whole run."""
    n, m = x.shape[0], x[0].numel()
    index = torch.arange(n * m, device=x.device, dtype=torch.int64) + offset * m
    stream = t.repeat_interleave(m)
    return philox_normal(seed, index, stream).view(x.shape)


def ddpm_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: torch.Tensor,
    table: torch.Tensor,
    noise: torch.Tensor | None = None,
    seed: int = 0,
    offset: int = 0,
    clip_x0: bool = True,
) -> torch.Tensor:
    """One DDPM reverse step x_t -> x_{t-1} with the posterior ("fixed small") variance."""
    _checks.schedule_args(x_t, eps, t, table, "ddpm_step", "eps")
    _checks.noise(x_t, noise, "ddpm_step")
    z = step_noise(x_t, t, seed, offset) if noise is None else noise.float()
    x, e, d = x_t.float(), eps.float(), x_t.dim()
    x0 = _gather(table, "sqrt_recip_abar", t, d) * x - _gather(table, "sqrt_recipm1_abar", t, d) * e
    if clip_x0:
        x0 = x0.clamp(-1, 1)
    mean = _gather(table, "posterior_coef1", t, d) * x0 + _gather(table, "posterior_coef2", t, d) * x
    return (mean + _gather(table, "posterior_std", t, d) * z).to(x_t.dtype).contiguous()


def ddim_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: torch.Tensor,
    t_prev: torch.Tensor,
    table: torch.Tensor,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
    seed: int = 0,
    offset: int = 0,
    clip_x0: bool = True,
) -> torch.Tensor:
    """One DDIM step x_t -> x_{t_prev} (Song et al. 2021, eq. 12); t_prev = -1 ends sampling."""
    _checks.schedule_args(x_t, eps, t, table, "ddim_step", "eps")
    _checks.noise(x_t, noise, "ddim_step")
    _checks.timesteps(t_prev, table.shape[1], "ddim_step", "t_prev", lowest=-1)
    if eta < 0:
        raise ValueError(f"ddim_step: eta must be >= 0, got {eta}")
    d = x_t.dim()
    abar = _gather(table, "abar", t, d)
    abar_prev = torch.where(t_prev >= 0, table[TABLE["abar"]][t_prev.clamp(min=0)], 1.0)
    abar_prev = abar_prev.view_as(abar)
    var = (1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev)
    sigma = eta * var.clamp(min=0).sqrt()
    x, e = x_t.float(), eps.float()
    x0 = (x - (1 - abar).sqrt() * e) / abar.sqrt()
    if clip_x0:
        x0 = x0.clamp(-1, 1)
    direction = (1 - abar_prev - sigma**2).clamp(min=0).sqrt() * e
    out = abar_prev.sqrt() * x0 + direction
    if eta > 0:
        z = step_noise(x_t, t, seed, offset) if noise is None else noise.float()
        out = out + sigma * z
    return out.to(x_t.dtype).contiguous()
