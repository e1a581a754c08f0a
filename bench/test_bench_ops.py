"""Fused ops against eager PyTorch (the reference), torch.compile of the same eager code
(mode="max-autotune-no-cudagraphs") and the memory floor, timed interleaved in one run
(bench/interleaved.py). The floor is the fewest bytes the op must move at the bandwidth
of ``dst.copy_(t)`` into a preallocated ``dst``, measured in the same case ("copy").

On a GPU two more sizes run where the GPU, not the host, is the bound (over 256 MB of
traffic per call), and at the small sizes the fused op and compile are also timed as
CUDA-graph replays (eager too), which take the host out.
"""

from __future__ import annotations

import pytest
import torch

from bench.conftest import compiled, devices
from bench.interleaved import CaseCache, Impl, measure, report
from bench.interleaved import cuda_graph as graphed
from harness import ops
from harness.ops import NoiseSchedule, reference

STEP_SHAPES = [(64, 3, 64, 64), (256, 3, 64, 64), (64, 4, 32, 32)]
UPSAMPLE_SHAPES = [(64, 128, 16, 16), (32, 256, 32, 32)]
# GPU only: 268 MB per tensor (q_sample moves 805 MB a call); 134 MB in, 537 MB out.
LARGE_STEP, LARGE_UPSAMPLE = (1024, 4, 128, 128), (32, 256, 64, 64)
IMPLS = ["fused", "eager", "compile", "copy", "fused-graph", "eager-graph", "compile-graph"]
CASES = CaseCache()


def _name(shape) -> str:
    return "x".join(map(str, shape))


def _applies(device: str, shape, impl: str, large) -> None:
    if shape == large and device != "cuda":
        pytest.skip("a GPU size")
    if impl.endswith("-graph") and (device != "cuda" or shape == large):
        pytest.skip("CUDA-graph replay is timed at the small GPU sizes only")


def _with_graphs(impls: dict[str, Impl], device: str, shape, large) -> tuple[dict[str, Impl], dict[str, str]]:
    unavailable: dict[str, str] = {}
    if device == "cuda" and shape != large:
        for name in ("fused", "eager", "compile"):
            try:
                impls[f"{name}-graph"] = Impl(graphed(impls[name].fn), impls[name].bytes, captured=True)
            except RuntimeError as exc:  # reported as the test's skip reason
                unavailable[f"{name}-graph"] = f"capture failed: {exc}".splitlines()[0]
    return impls, unavailable


def _measure(impls: dict[str, Impl], unavailable: dict[str, str], device: str, config):
    min_rounds = int(config.getoption("benchmark_min_rounds"))
    max_time = float(config.getoption("benchmark_max_time")) * len(impls)
    return measure(impls, device, min_rounds=min_rounds, max_time=max_time, unavailable=unavailable)


def _report(benchmark, group: str, impl: str, device: str, measured) -> None:
    if impl in measured.unavailable:
        pytest.skip(measured.unavailable[impl])
    benchmark.group = group
    report(benchmark, measured.samples[impl],
           {"impl": impl, "bytes": measured.bytes[impl], "device": device, "repeats": measured.repeats})


def _copy(t: torch.Tensor) -> Impl:
    """The floor's bandwidth: ``copy_`` into a tensor allocated once, so no first-touch
    page fault is in it (those are the allocator's, docs/performance.md)."""
    dst = torch.empty_like(t)
    return Impl(lambda: dst.copy_(t), 2 * t.numel() * t.element_size())


def _diffusion_case(op: str, device: str, shape) -> dict[str, Impl]:
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
        moved = 3 * elem  # the fewest bytes: each input read once, the output written once
    elif op == "ddpm_step":
        fused = lambda: ops.ddpm_step(x, e, t, s, noise=z)  # noqa: E731
        eager = lambda: reference.ddpm_step(x, e, t, table, z)  # noqa: E731
        moved = 4 * elem
    else:
        fused = lambda: ops.ddim_step(x, e, t, t_prev, s, eta=0.5, noise=z)  # noqa: E731
        eager = lambda: reference.ddim_step(x, e, t, t_prev, table, 0.5, z)  # noqa: E731
        moved = 4 * elem
    return {"fused": Impl(fused, moved), "eager": Impl(eager, moved), "compile": Impl(compiled(eager), moved),
            "copy": _copy(x)}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [*STEP_SHAPES, LARGE_STEP], ids=_name)
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("op", ["q_sample", "ddpm_step", "ddim_step"])
def test_diffusion_ops(benchmark, request, op, device, shape, impl):
    _applies(device, shape, impl, LARGE_STEP)
    group = f"{op} {_name(shape)} {device}"

    def case():
        impls, unavailable = _with_graphs(_diffusion_case(op, device, shape), device, shape, LARGE_STEP)
        return _measure(impls, unavailable, device, request.config)

    _report(benchmark, group, impl, device, CASES.get(group, case))


def _upsample_case(device: str, pass_: str, mode: str, shape) -> dict[str, Impl]:
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
    # Fewest bytes: forward reads x, writes 4x; backward reads grad (4x) and x, writes grad_x.
    moved = 5 * elem if pass_ == "fwd" else 11 * elem
    return {"fused": Impl(run(fused), moved), "eager": Impl(run(eager), moved),
            "compile": Impl(run(compiled(eager)), moved),
            "copy": _copy(g)}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [*UPSAMPLE_SHAPES, LARGE_UPSAMPLE], ids=_name)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("pass_", ["fwd", "fwd+bwd"])
@pytest.mark.parametrize("device", devices())
def test_bias_act_upsample(benchmark, request, device, pass_, mode, shape, impl):
    _applies(device, shape, impl, LARGE_UPSAMPLE)
    group = f"bias_act_upsample {pass_} {mode} {_name(shape)} {device}"

    def case():
        impls, unavailable = _with_graphs(_upsample_case(device, pass_, mode, shape), device, shape,
                                          LARGE_UPSAMPLE)
        return _measure(impls, unavailable, device, request.config)

    _report(benchmark, group, impl, device, CASES.get(group, case))
