"""Fake (shape) kernels and autograd formulas for the compiled ops.

With these the ops trace under ``torch.compile(fullgraph=True)`` and differentiate
under autograd; ``torch.library.opcheck`` checks all of it.
"""

from __future__ import annotations

import torch

from . import _checks


def register() -> None:
    """Register fake kernels and autograd for torch.ops.genbench (once, after loading _C)."""

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

    def bau_setup(ctx, inputs, output):
        x, bias, act, alpha, gain, scale, mode = inputs
        ctx.save_for_backward(x, bias)  # not the output: backward recomputes the activation
        ctx.args = (act, alpha, gain, scale, mode)

    def bau_backward(ctx, grad):
        x, bias = ctx.saved_tensors
        grad_x, grad_bias = torch.ops.genbench.bias_act_upsample_backward(grad, x, bias, *ctx.args)
        return grad_x, grad_bias, None, None, None, None, None

    torch.library.register_autograd(
        "genbench::bias_act_upsample", bau_backward, setup_context=bau_setup
    )

    def q_setup(ctx, inputs, output):
        _, _, t, table = inputs
        ctx.save_for_backward(t, table)

    def q_backward(ctx, grad):
        t, table = ctx.saved_tensors
        shape = (-1,) + (1,) * (grad.dim() - 1)
        a = table[0][t].view(shape).to(grad.dtype)  # row 0: sqrt_abar
        b = table[1][t].view(shape).to(grad.dtype)  # row 1: sqrt_one_minus_abar
        return grad * a, grad * b, None, None

    torch.library.register_autograd("genbench::q_sample", q_backward, setup_context=q_setup)
