"""bias_act_upsample: the kernels against the pure-PyTorch reference (and F.interpolate),
gradcheck, opcheck, torch.compile, layouts, dtypes, odd sizes and bad input."""

from __future__ import annotations

import zlib

import pytest
import torch

from harness import ops
from harness.ops import reference
from tests.conftest import devices

pytestmark = pytest.mark.skipif(not ops.BUILD_INFO.get("cpu"), reason="harness._C not built")

ACTS = ["linear", "relu", "lrelu", "silu"]
MODES = ["nearest", "bilinear"]
# fp32 math everywhere; the tolerance is the storage type's rounding.
TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float64: 1e-12}
SHAPES = [(1, 3, 1, 1), (2, 5, 3, 7), (1, 4, 7, 3), (3, 8, 16, 16), (2, 3, 5, 9)]


def kernel(x, bias, **kw):
    return torch.ops.genbench.bias_act_upsample(x, bias, kw.get("act", "lrelu"), kw.get("alpha", 0.2),
                                                kw.get("gain", 1.0), kw.get("scale", 2), kw.get("mode", "nearest"))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_matches_reference(device, mode, act, shape):
    # crc32, not hash(): string hashing is salted per process, and a failure must replay.
    g = torch.Generator().manual_seed(zlib.crc32(repr((mode, act, shape)).encode()))
    x = torch.randn(shape, generator=g).to(device)
    b = torch.randn(shape[1], generator=g).to(device)
    out = kernel(x, b, act=act, alpha=0.1, gain=1.7, mode=mode)
    ref = reference.bias_act_upsample(x, b, act, 0.1, 1.7, 2, mode)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", MODES)
def test_reference_is_f_interpolate(device, mode):
    x, b = torch.randn(2, 3, 5, 6, device=device), torch.randn(3, device=device)
    y = torch.nn.functional.leaky_relu(x + b.view(1, -1, 1, 1), 0.2) * 2.0
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    expected = torch.nn.functional.interpolate(y, scale_factor=2, mode=mode, **kwargs)
    torch.testing.assert_close(kernel(x, b, gain=2.0, mode=mode), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("mode", MODES)
def test_dtypes(device, dtype, mode):
    x = torch.randn(2, 6, 5, 8, device=device).to(dtype)
    b = torch.randn(6, device=device).to(dtype)
    out = kernel(x, b, act="silu", mode=mode)
    assert out.dtype == dtype
    ref = reference.bias_act_upsample(x, b, "silu", 0.2, 1.0, 2, mode)
    torch.testing.assert_close(out.double(), ref.double(), atol=TOL[dtype], rtol=TOL[dtype])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_channels_last_and_scales(device, mode, scale):
    x = torch.randn(2, 8, 5, 6, device=device).contiguous(memory_format=torch.channels_last)
    b = torch.randn(8, device=device)
    out = kernel(x, b, scale=scale, mode=mode)
    assert out.is_contiguous(memory_format=torch.channels_last)
    ref = reference.bias_act_upsample(x.contiguous(), b, "lrelu", 0.2, 1.0, scale, mode)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("device", devices())
def test_non_contiguous_input(device):
    base = torch.randn(2, 3, 12, 10, device=device)
    x = base[:, :, ::2, 1:8]  # strided view
    b = torch.randn(3, device=device)
    torch.testing.assert_close(kernel(x, b, mode="bilinear"),
                               reference.bias_act_upsample(x.contiguous(), b, "lrelu", 0.2, 1.0, 2, "bilinear"))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", MODES)
def test_unaligned_storage(device, mode):
    # A storage offset of one element: no 16-byte vector access may be used.
    x = torch.randn(2 * 3 * 4 * 8 + 1, device=device)[1:].view(2, 3, 4, 8)
    b = torch.randn(3, device=device)
    g = torch.randn(2 * 3 * 8 * 16 + 1, device=device)[1:].view(2, 3, 8, 16)
    torch.testing.assert_close(kernel(x, b, mode=mode), reference.bias_act_upsample(x, b, "lrelu", 0.2, 1.0, 2, mode))
    gx, gb = torch.ops.genbench.bias_act_upsample_backward(g, x, b, "lrelu", 0.2, 1.0, 2, mode)
    xr, br = x.clone().requires_grad_(), b.clone().requires_grad_()
    reference.bias_act_upsample(xr, br, "lrelu", 0.2, 1.0, 2, mode).backward(g)
    torch.testing.assert_close(gx, xr.grad)
    torch.testing.assert_close(gb, br.grad, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_backward_matches_reference_autograd(device, mode, act, layout):
    x = torch.randn(2, 5, 4, 7, device=device)
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    b = torch.randn(5, device=device)
    g = torch.randn(2, 5, 8, 14, device=device)
    xk, bk = x.clone().requires_grad_(), b.clone().requires_grad_()
    ops.bias_act_upsample(xk, bk, act, 0.3, 1.5, 2, mode).backward(g)
    xr, br = x.clone().requires_grad_(), b.clone().requires_grad_()
    reference.bias_act_upsample(xr, br, act, 0.3, 1.5, 2, mode).backward(g)
    torch.testing.assert_close(xk.grad, xr.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(bk.grad, br.grad, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("scale", [2, 3])
def test_gradcheck_float64_cpu_kernel(mode, act, scale):
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    with ops.use_backend("cpu"):
        assert torch.autograd.gradcheck(lambda x, b: ops.bias_act_upsample(x, b, act, 0.2, 1.3, scale, mode), (x, b))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", MODES)
def test_opcheck(device, mode):
    x = torch.randn(2, 4, 5, 3, device=device, requires_grad=True)
    b = torch.randn(4, device=device, requires_grad=True)
    torch.library.opcheck(torch.ops.genbench.bias_act_upsample.default, (x, b, "lrelu", 0.2, 1.0, 2, mode))
    xl = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    torch.library.opcheck(torch.ops.genbench.bias_act_upsample.default, (xl, b, "silu", 0.2, 1.0, 2, mode))
    g = torch.randn(2, 4, 10, 6, device=device)
    torch.library.opcheck(torch.ops.genbench.bias_act_upsample_backward.default,
                          (g, x.detach(), b.detach(), "relu", 0.2, 1.0, 2, mode))


def test_torch_compile_fullgraph():
    x, b = torch.randn(2, 4, 5, 5, requires_grad=True), torch.randn(4, requires_grad=True)

    def f(x, b):
        return ops.bias_act_upsample(x, b, "lrelu", 0.2, 1.0, 2, "bilinear").square().sum()

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    loss = compiled(x, b)
    gx, gb = torch.autograd.grad(loss, (x, b))
    loss_ref = f(x, b)
    rx, rb = torch.autograd.grad(loss_ref, (x, b))
    torch.testing.assert_close(loss, loss_ref)
    torch.testing.assert_close(gx, rx)
    torch.testing.assert_close(gb, rb)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
@pytest.mark.parametrize(
    ("x_shape", "b_shape", "kw", "message"),
    [
        ((2, 3, 4), (3,), {}, "must be 4-D"),
        ((2, 3, 4, 4), (4,), {}, "bias must have shape"),
        ((2, 3, 4, 4), (3,), {"scale": 0}, "scale must be an integer"),
        ((2, 3, 4, 4), (3,), {"scale": 9}, "scale must be an integer"),
        ((2, 3, 4, 4), (3,), {"act": "tanh"}, "unknown act"),
        ((2, 3, 4, 4), (3,), {"mode": "bicubic"}, "unknown mode"),
    ],
)
def test_bad_input_is_named(backend, x_shape, b_shape, kw, message):
    with ops.use_backend(backend), pytest.raises((ValueError, RuntimeError), match=message):
        ops.bias_act_upsample(torch.randn(x_shape), torch.randn(b_shape), **kw)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_dtype_mismatch_is_named(backend):
    with ops.use_backend(backend), pytest.raises((TypeError, RuntimeError), match="same dtype"):
        ops.bias_act_upsample(torch.randn(1, 2, 3, 3), torch.randn(2, dtype=torch.float64))


@pytest.mark.cuda
def test_device_mismatch_is_named():
    with pytest.raises(RuntimeError, match="same device"):
        ops.bias_act_upsample(torch.randn(1, 2, 3, 3, device="cuda"), torch.randn(2))


@pytest.mark.cuda
def test_large_tensor_64bit_indexing():
    # More than 2**31 output elements: the kernel must switch to 64-bit indices.
    x = torch.randn(1, 2, 23200, 11600, device="cuda", dtype=torch.float16)
    b = torch.zeros(2, device="cuda", dtype=torch.float16)
    out = ops.bias_act_upsample(x, b, "linear", 0.2, 1.0, 2, "nearest")
    assert out.numel() > 2**31
    torch.testing.assert_close(out[0, 1, -2:, -2:], x[0, 1, -1:, -1:].expand(2, 2))


def test_cpu_nearest_forward_is_the_references_arithmetic_bit_for_bit():
    """Nearest x2 does the reference's arithmetic (bias, activation, gain, copies): equal
    bit for bit, whichever copy of the loop (AVX-512, AVX2 or baseline) the machine runs.
    (Bilinear blends in another order than F.interpolate and agrees to about 1 ulp.)"""
    g = torch.Generator().manual_seed(7)
    x, b = torch.randn(4, 6, 9, 13, generator=g), torch.randn(6, generator=g)
    with ops.use_backend("cpu"):
        out = ops.bias_act_upsample(x, b, "lrelu", 0.2, 1.4, 2, "nearest")
    assert torch.equal(out, reference.bias_act_upsample(x, b, "lrelu", 0.2, 1.4, 2, "nearest"))
