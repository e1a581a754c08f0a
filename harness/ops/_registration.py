"""Fake (shape) kernels of the compiled ops.

With these the ops trace under ``torch.compile(fullgraph=True)``. Their autograd
formulas are C++ (``csrc/autograd.cpp``), so a forward+backward runs no Python per
call; ``torch.library.opcheck`` checks both.
"""

from __future__ import annotations

import torch

from . import _checks


def register() -> None:
    """Register the fake kernels of torch.ops.genbench (once, after loading _C)."""

    @torch.library.register_fake("genbench::bias_act_upsample")
    def _(x, bias, act, alpha, gain, scale, mode):
        fmt = _checks.bias_act_upsample(x, bias, act, scale, mode)
        n, c, h, w = x.shape
        return x.new_empty((n, c, h * scale, w * scale)).contiguous(memory_format=fmt)

    @torch.library.register_fake("genbench::bias_act_upsample_backward")
    def _(grad, x, bias, act, alpha, gain, scale, mode):
        fmt = _checks.bias_act_upsample(x, bias, act, scale, mode, op="bias_act_upsample_backward")
        return torch.empty_like(x, memory_format=fmt), torch.empty_like(bias)

    @torch.library.register_fake("genbench::q_sample")
    def _(x0, noise, t, table):
        _checks.schedule_args(x0, noise, t, table, "q_sample", "noise", check_values=False)
        return torch.empty_like(x0, memory_format=torch.contiguous_format)

    @torch.library.register_fake("genbench::ddpm_step")
    def _(x_t, eps, t, table, noise, seed, offset, clip_x0):
        _checks.schedule_args(x_t, eps, t, table, "ddpm_step", "eps", check_values=False)
        _checks.noise(x_t, noise, "ddpm_step")
        return torch.empty_like(x_t, memory_format=torch.contiguous_format)

    @torch.library.register_fake("genbench::ddim_step")
    def _(x_t, eps, t, t_prev, table, eta, noise, seed, offset, clip_x0):
        _checks.schedule_args(x_t, eps, t, table, "ddim_step", "eps", check_values=False)
        _checks.noise(x_t, noise, "ddim_step")
        return torch.empty_like(x_t, memory_format=torch.contiguous_format)
