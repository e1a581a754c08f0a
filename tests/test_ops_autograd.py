"""The differentiable ops' autograd runs in C++ (csrc/autograd.cpp): no Python runs per
call between the op and its gradient, which on a GPU was the bound (docs/ops.md)."""

from __future__ import annotations

import sys

import pytest
import torch

from harness import ops
from harness.ops import NoiseSchedule, reference
from tests.conftest import devices

pytestmark = pytest.mark.skipif(not ops.BUILD_INFO.get("cpu"), reason="harness._C not built")


def _python_frames_during(fn) -> list[str]:
    """Files of the Python functions entered while fn runs (torch's own wrappers aside)."""
    seen: list[str] = []

    def profile(frame, event, arg):
        if event == "call":
            seen.append(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return seen


def _upsample_case(device="cpu"):
    x = torch.randn(2, 3, 4, 4, device=device, requires_grad=True)
    b = torch.randn(3, device=device, requires_grad=True)
    return x, b


def _q_sample_case(device="cpu"):
    s = NoiseSchedule("linear", 100)
    x = torch.randn(3, 2, 4, 4, device=device, requires_grad=True)
    e = torch.randn(3, 2, 4, 4, device=device, requires_grad=True)
    return x, e, torch.tensor([0, 50, 99], device=device), s.table(device)


@pytest.mark.parametrize("device", devices())
def test_gradient_nodes_are_cpp(device):
    x, b = _upsample_case(device)
    y = torch.ops.genbench.bias_act_upsample(x, b, "lrelu", 0.2, 1.0, 2, "nearest")
    assert "CppNode<" in y.grad_fn.name(), y.grad_fn.name()
    x, e, t, table = _q_sample_case(device)
    assert "CppNode<" in torch.ops.genbench.q_sample(x, e, t, table).grad_fn.name()


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("op", ["bias_act_upsample", "q_sample"])
def test_no_python_in_forward_and_backward(op, device):
    if op == "bias_act_upsample":
        x, b = _upsample_case(device)
        inputs = (x, b)

        def call():
            return torch.ops.genbench.bias_act_upsample.default(x, b, "silu", 0.2, 1.3, 2, "bilinear")
    else:
        x, e, t, table = _q_sample_case(device)
        inputs = (x, e)

        def call():
            return torch.ops.genbench.q_sample.default(x, e, t, table)

    grad = torch.ones_like(call())
    frames = _python_frames_during(lambda: torch.autograd.grad(call(), inputs, grad))
    glue = [f for f in frames if "torch/_library" in f or "harness" in f]
    assert not glue, f"Python ran per call: {sorted(set(glue))}"


def test_q_sample_gradient_per_dtype():
    """d/dx0 = sqrt(abar_t), d/dnoise = sqrt(1 - abar_t), in the input's dtype."""
    s = NoiseSchedule("cosine", 100)
    t = torch.tensor([0, 42, 99])
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        x = torch.randn(3, 2, 3, 3).to(dtype).requires_grad_()
        e = torch.randn(3, 2, 3, 3).to(dtype).requires_grad_()
        g = torch.randn(3, 2, 3, 3).to(dtype)
        gx, ge = torch.autograd.grad(ops.q_sample(x, e, t, s), (x, e), g)
        xr, er = x.detach().float().requires_grad_(), e.detach().float().requires_grad_()
        rx, re = torch.autograd.grad(reference.q_sample(xr, er, t, s.table("cpu")), (xr, er), g.float())
        assert gx.dtype == ge.dtype == dtype
        tol = {torch.float32: 1e-6, torch.float16: 1e-3, torch.bfloat16: 1e-2}[dtype]
        torch.testing.assert_close(gx.float(), rx, atol=tol, rtol=tol)
        torch.testing.assert_close(ge.float(), re, atol=tol, rtol=tol)


def test_gradient_only_for_the_inputs_that_ask():
    x, b = _upsample_case()
    b.requires_grad_(False)
    (gx,) = torch.autograd.grad(ops.bias_act_upsample(x, b).sum(), (x,))
    (rx,) = torch.autograd.grad(reference.bias_act_upsample(x, b).sum(), (x,))
    torch.testing.assert_close(gx, rx)
    with torch.no_grad():
        assert ops.bias_act_upsample(x, b).grad_fn is None
