"""q_sample, ddpm_step and ddim_step: kernels against the reference, Philox noise
(bit-compatible with the reference, batch-split independent, statistically sound),
opcheck, torch.compile, schedules and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from harness import ops
from harness.ops import NoiseSchedule, reference
from tests.conftest import devices

pytestmark = pytest.mark.skipif(not ops.BUILD_INFO.get("cpu"), reason="harness._C not built")

SCHEDULES = ["linear", "cosine", "scaled-linear"]
SHAPES = [(1, 1, 1, 1), (3, 3, 7, 5), (4, 4, 8, 8), (2, 3, 1, 3)]
TOL = {torch.float32: 2e-6, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def _inputs(shape, device, dtype=torch.float32, T=1000, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g).to(device, dtype)
    e = torch.randn(shape, generator=g).to(device, dtype)
    z = torch.randn(shape, generator=g).to(device, dtype)
    t = torch.randint(0, T, (shape[0],), generator=g).to(device)
    return x, e, z, t


def both(fn):
    """fn() under the compiled kernels and under the reference."""
    out = fn()
    with ops.use_backend("reference"):
        return out, fn()


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", SCHEDULES)
def test_q_sample_matches_reference(device, dtype, shape, kind):
    s = NoiseSchedule(kind, 1000)
    x, e, _, t = _inputs(shape, device, dtype)
    out, ref = both(lambda: ops.q_sample(x, e, t, s))
    assert out.dtype == dtype and out.device.type == device
    torch.testing.assert_close(out.float(), ref.float(), atol=TOL[dtype], rtol=TOL[dtype])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("clip", [True, False])
def test_ddpm_step_with_noise_matches_reference(device, dtype, shape, clip):
    s = NoiseSchedule("linear", 1000)
    x, e, z, t = _inputs(shape, device, dtype)
    t[0] = 0  # the last step adds no noise
    out, ref = both(lambda: ops.ddpm_step(x, e, t, s, noise=z, clip_x0=clip))
    torch.testing.assert_close(out.float(), ref.float(), atol=TOL[dtype] * 4, rtol=TOL[dtype])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_step_with_noise_matches_reference(device, shape, eta):
    s = NoiseSchedule("cosine", 1000)
    x, e, z, t = _inputs(shape, device)
    t_prev = t - 20
    out, ref = both(lambda: ops.ddim_step(x, e, t, t_prev, s, eta=eta, noise=z))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("layout", ["channels_last", "strided"])
def test_other_layouts(device, layout):
    s = NoiseSchedule("linear", 1000)
    x, e, z, t = _inputs((3, 4, 6, 5), device)
    if layout == "channels_last":
        x, e, z = (v.contiguous(memory_format=torch.channels_last) for v in (x, e, z))
    else:
        x, e, z = (torch.cat([v, v], dim=3)[..., ::2] for v in (x, e, z))
        assert not x.is_contiguous()
    for fn in (lambda: ops.q_sample(x, z, t, s), lambda: ops.ddpm_step(x, e, t, s, noise=z),
               lambda: ops.ddim_step(x, e, t, t - 3, s, eta=0.3, noise=z),
               lambda: ops.ddpm_step(x, e, t, s, seed=5)):
        out, ref = both(fn)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("device", devices())
def test_in_kernel_noise_matches_reference_philox(device):
    s = NoiseSchedule("linear", 1000)
    x, e, _, t = _inputs((3, 3, 5, 7), device)  # 105 elements per sample: not a multiple of 4
    out, ref = both(lambda: ops.ddpm_step(x, e, t, s, seed=1234, offset=5))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    out, ref = both(lambda: ops.ddim_step(x, e, t, t - 10, s, eta=1.0, seed=99))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("op", ["ddpm", "ddim"])
def test_noise_does_not_depend_on_batch_split(device, op):
    s = NoiseSchedule("linear", 1000)
    x, e, _, _ = _inputs((8, 3, 6, 6), device)
    t = torch.full((8,), 500, device=device)

    def step(lo, hi):
        if op == "ddpm":
            return ops.ddpm_step(x[lo:hi], e[lo:hi], t[lo:hi], s, seed=7, offset=lo)
        return ops.ddim_step(x[lo:hi], e[lo:hi], t[lo:hi], t[lo:hi] - 50, s, eta=1.0, seed=7, offset=lo)

    whole = step(0, 8)
    split = torch.cat([step(0, 3), step(3, 4), step(4, 8)])
    assert torch.equal(whole, split)


@pytest.mark.parametrize("device", devices())
def test_in_kernel_noise_statistics(device):
    """Mean 0, variance 1, no correlation between neighbours or between steps."""
    s = NoiseSchedule("linear", 1000)
    shape = (16, 4, 64, 64)
    zeros = torch.zeros(shape, device=device)
    t = torch.full((16,), 500, device=device)
    # With x_t = eps = 0 the posterior mean is 0: the step returns sigma_t * z alone.
    def noise(t_now, seed=3):
        std = s.row("posterior_std")[int(t_now[0])].item()
        return (ops.ddpm_step(zeros, zeros, t_now, s, seed=seed, clip_x0=False) / std).double().cpu()

    z = noise(t).flatten()
    n = z.numel()
    assert abs(z.mean().item()) < 5 / math.sqrt(n)
    assert abs(z.var().item() - 1) < 5 * math.sqrt(2 / n)
    lag1 = torch.corrcoef(torch.stack([z[:-1], z[1:]]))[0, 1].item()
    assert abs(lag1) < 5 / math.sqrt(n)
    z_next = noise(t - 1).flatten()
    assert abs(torch.corrcoef(torch.stack([z, z_next]))[0, 1].item()) < 5 / math.sqrt(n)
    kurtosis = ((z - z.mean()) ** 4).mean() / z.var() ** 2
    assert abs(kurtosis.item() - 3) < 0.05  # Gaussian, not uniform (1.8) or worse


@pytest.mark.parametrize("device", devices())
def test_opcheck_all_diffusion_ops(device):
    s = NoiseSchedule("linear", 100)
    x, e, z, t = _inputs((2, 3, 4, 4), device, T=100)
    table = s.table(device)
    x0 = x.clone().requires_grad_()
    torch.library.opcheck(torch.ops.genbench.q_sample.default, (x0, e, t, table))
    torch.library.opcheck(torch.ops.genbench.ddpm_step.default, (x, e, t, table, z, 0, 0, True))
    torch.library.opcheck(torch.ops.genbench.ddpm_step.default, (x, e, t, table, None, 5, 2, False))
    torch.library.opcheck(torch.ops.genbench.ddim_step.default, (x, e, t, t - 1, table, 0.5, None, 1, 0, True))


def test_q_sample_gradient():
    s = NoiseSchedule("linear", 1000)
    x, e, _, t = _inputs((3, 2, 4, 4), "cpu")
    xk, ek = x.clone().requires_grad_(), e.clone().requires_grad_()
    ops.q_sample(xk, ek, t, s).sum().backward()
    xr, er = x.clone().requires_grad_(), e.clone().requires_grad_()
    with ops.use_backend("reference"):
        ops.q_sample(xr, er, t, s).sum().backward()
    torch.testing.assert_close(xk.grad, xr.grad)
    torch.testing.assert_close(ek.grad, er.grad)


def test_torch_compile_fullgraph():
    s = NoiseSchedule("linear", 1000)
    x, e, z, t = _inputs((2, 3, 4, 4), "cpu")

    def f(x, e, z, t):
        xt = ops.q_sample(x, z, t, s)
        return ops.ddim_step(ops.ddpm_step(xt, e, t, s, seed=3), e, t, t - 1, s, eta=0.5, seed=4)

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x, e, z, t), f(x, e, z, t))


def test_schedules():
    for kind in SCHEDULES:
        s = NoiseSchedule(kind, 1000)
        abar = s.row("abar")
        assert torch.all(abar[1:] < abar[:-1]) and 0 < abar[-1] < abar[0] < 1
        assert s.table("cpu").shape == (8, 1000) and s.table("cpu") is s.table("cpu")
    lin = NoiseSchedule("linear", 1000).betas
    assert lin[0].item() == pytest.approx(1e-4) and lin[-1].item() == pytest.approx(0.02)
    assert NoiseSchedule("scaled-linear", 1000).betas[-1].item() == pytest.approx(0.012)
    assert NoiseSchedule("cosine", 1000).row("abar")[-1].item() < 1e-4
    with pytest.raises(ValueError, match="unknown noise schedule"):
        NoiseSchedule("quadratic", 10)
    with pytest.raises(ValueError, match="T >= 2"):
        NoiseSchedule("linear", 1)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_bad_input_is_named(backend):
    s = NoiseSchedule("linear", 10)
    x = torch.randn(2, 3, 4, 4)
    with ops.use_backend(backend):
        with pytest.raises(IndexError, match=r"t\[1\] = 10 is out of range \[0, 10\)"):
            ops.q_sample(x, x, torch.tensor([0, 10]), s)
        with pytest.raises((ValueError, RuntimeError), match="noise must have x's shape"):
            ops.q_sample(x, x[:1], torch.tensor([0, 1]), s)
        with pytest.raises((TypeError, RuntimeError), match="t must be int64"):
            ops.q_sample(x, x, torch.tensor([0, 1], dtype=torch.int32), s)
        with pytest.raises((ValueError, RuntimeError), match="one timestep per sample"):
            ops.ddpm_step(x, x, torch.tensor([1, 2, 3]), s, seed=0)
        with pytest.raises((TypeError, RuntimeError), match="same dtype"):
            ops.ddpm_step(x, x.double(), torch.tensor([1, 2]), s, seed=0)
        with pytest.raises(IndexError, match="t_prev"):
            ops.ddim_step(x, x, torch.tensor([5, 5]), torch.tensor([-2, 4]), s, eta=0.0)


@pytest.mark.cuda
def test_cuda_bad_t_gives_nan_not_out_of_bounds():
    s = NoiseSchedule("linear", 10)
    x = torch.randn(2, 3, 4, 4, device="cuda")
    out = ops.q_sample(x, x, torch.tensor([3, 10], device="cuda"), s)
    assert torch.isfinite(out[0]).all() and torch.isnan(out[1]).all()


@pytest.mark.cuda
def test_mismatched_devices_are_named():
    s = NoiseSchedule("linear", 10)
    x = torch.randn(2, 3, 4, 4, device="cuda")
    with pytest.raises(RuntimeError, match="one device"):
        ops.q_sample(x, x, torch.tensor([1, 2]), s)


@pytest.mark.cuda
def test_cuda_noise_close_to_cpu_noise():
    s = NoiseSchedule("linear", 1000)
    x, e, _, t = _inputs((4, 3, 8, 8), "cpu")
    cpu = ops.ddpm_step(x, e, t, s, seed=42)
    gpu = ops.ddpm_step(x.cuda(), e.cuda(), t.cuda(), s, seed=42).cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-5, rtol=1e-5)


def test_cpu_kernels_round_like_the_reference_on_every_machine():
    """Where the kernel does the reference's arithmetic in the same order, the results are
    equal bit for bit: no copy of a loop (AVX-512, AVX2 or baseline, csrc/cpu_isa.h) fuses
    a multiply-add the others cannot, so a CPU run gives the same numbers on any x86."""
    s = NoiseSchedule("linear", 1000)
    x, e, z, t = _inputs((16, 3, 17, 19), "cpu")
    with ops.use_backend("cpu"):
        q, step = ops.q_sample(x, z, t, s), ops.ddpm_step(x, e, t, s, noise=z)
    assert torch.equal(q, reference.q_sample(x, z, t, s.table("cpu")))
    assert torch.equal(step, reference.ddpm_step(x, e, t, s.table("cpu"), z))
