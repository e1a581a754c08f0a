"""Fused ops against eager PyTorch (the reference) and torch.compile(reference,
mode="max-autotune-no-cudagraphs"), at the sizes of issue #3, on CPU and CUDA."""

from __future__ import annotations

import pytest
import torch

from bench.conftest import compiled, devices, record
from harness import ops
from harness.ops import NoiseSchedule, reference

STEP_SHAPES = [(64, 3, 64, 64), (256, 3, 64, 64), (64, 4, 32, 32)]
UPSAMPLE_SHAPES = [(64, 128, 16, 16), (32, 256, 32, 32)]
IMPLS = ["fused", "eager", "compile", "copy"]


def _name(shape) -> str:
    return "x".join(map(str, shape))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", STEP_SHAPES, ids=_name)
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("op", ["q_sample", "ddpm_step", "ddim_step"])
def test_diffusion_ops(benchmark, op, device, shape, impl):
    torch.manual_seed(0)
    s = NoiseSchedule("linear", 1000)
    table = s.table(device)
    x, e, z = (torch.randn(shape, device=device) for _ in range(3))
    t = torch.randint(1, 1000, (shape[0],), device=device)
    t_prev = t - 1  # made here: a launch inside the timed call would be measured too
    elem = x.numel() * x.element_size()
    if op == "q_sample":
        fused = lambda: ops.q_sample(x, z, t, s)  # noqa: E731
        eager = lambda: reference.q_sample(x, z, t, table)  # noqa: E731
        moved = 3 * elem
    elif op == "ddpm_step":
        fused = lambda: ops.ddpm_step(x, e, t, s, noise=z)  # noqa: E731
        eager = lambda: reference.ddpm_step(x, e, t, table, z)  # noqa: E731
        moved = 4 * elem
    else:
        fused = lambda: ops.ddim_step(x, e, t, t_prev, s, eta=0.5, noise=z)  # noqa: E731
        eager = lambda: reference.ddim_step(x, e, t, t_prev, table, 0.5, z)  # noqa: E731
        moved = 4 * elem
    fn = {"fused": fused, "eager": eager, "compile": compiled(eager) if impl == "compile" else None,
          "copy": lambda: torch.empty_like(x).copy_(x)}[impl]
    record(benchmark, group=f"{op} {_name(shape)} {device}", impl=impl,
           bytes_moved=2 * elem if impl == "copy" else moved, fn=fn, device=device)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", UPSAMPLE_SHAPES, ids=_name)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("pass_", ["fwd", "fwd+bwd"])
@pytest.mark.parametrize("device", devices())
def test_bias_act_upsample(benchmark, device, pass_, mode, shape, impl):
    torch.manual_seed(0)
    x = torch.randn(shape, device=device, requires_grad=pass_ == "fwd+bwd")
    b = torch.randn(shape[1], device=device, requires_grad=pass_ == "fwd+bwd")
    g = torch.randn(shape[0], shape[1], shape[2] * 2, shape[3] * 2, device=device)
    elem = x.numel() * x.element_size()

    def run(f):
        if pass_ == "fwd":
            return lambda: f(x, b)
        return lambda: torch.autograd.grad(f(x, b), (x, b), g)

    fused = lambda x, b: ops.bias_act_upsample(x, b, "lrelu", 0.2, 1.0, 2, mode)  # noqa: E731
    eager = lambda x, b: reference.bias_act_upsample(x, b, "lrelu", 0.2, 1.0, 2, mode)  # noqa: E731
    fn = {"fused": run(fused), "eager": run(eager),
          "compile": run(compiled(eager)) if impl == "compile" else None,
          "copy": lambda: torch.empty_like(g).copy_(g)}[impl]
    # Fewest bytes: forward reads x, writes 4x; backward reads grad (4x) and x, writes grad_x.
    moved = 5 * elem if pass_ == "fwd" else 11 * elem
    record(benchmark, group=f"bias_act_upsample {pass_} {mode} {_name(shape)} {device}", impl=impl,
           bytes_moved=2 * g.numel() * g.element_size() if impl == "copy" else moved, fn=fn,
           device=device)
