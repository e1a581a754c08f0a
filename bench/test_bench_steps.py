"""End-to-end steps: one training step and one sampling batch of the clock generator,
with the fused ops (GENBENCH_OPS=auto) against the pure-PyTorch reference, in one run."""

from __future__ import annotations

import pytest
import torch
from genbench_clock.plugin import ClockGenerator

from bench.conftest import devices, record
from harness import ops
from harness.datasets import clocks
from harness.rng import SampleRNG


@pytest.mark.parametrize("backend", ["auto", "reference"])
@pytest.mark.parametrize("what", ["train_step", "sample"])
@pytest.mark.parametrize("device", devices())
def test_clock_step(benchmark, device, what, backend):
    data = clocks.build(resolution=32, channels=1)
    batch = data.train.get(torch.arange(32)).to(torch.device(device))
    with ops.use_backend(backend):
        torch.manual_seed(0)
        gen = ClockGenerator(data, torch.device(device), {})
        if what == "train_step":
            fn = lambda: gen.train_step(batch)  # noqa: E731
        else:
            rng = SampleRNG(0, 0, 32, device)
            fn = lambda: gen.sample(32, rng, batch.conditions)  # noqa: E731
        record(benchmark, group=f"clock {what} batch 32 {device}",
               impl="fused" if backend == "auto" else "eager", bytes_moved=0, fn=fn, device=device)
