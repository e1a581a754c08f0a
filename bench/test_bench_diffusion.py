"""The diffusion trade-off on clocks 32x32 (docs/generators/diffusion.md), with the quick
suite's model sizes:

- a training step of ddpm and of ldm (its diffusion stage), batch 64;
- sampling 16 images with DDPM-1000 and with DDIM-50, for ddpm and ldm, against dcgan's
  single forward pass;
- the fused ops in context: the ddpm training step and a DDIM-50 sampling loop with
  GENBENCH_OPS=auto against GENBENCH_OPS=reference.

Per sampled image = the round's time / 16. Ratios are read from one run of this file."""

from __future__ import annotations

import pytest
import torch

from harness import SampleRNG, ops
from harness.datasets import clocks
from harness.plugins import Host
from tests.conftest import devices

SAMPLE_BATCH = 16
TRAIN_BATCH = 64
# The quick suite's configs (harness/suite_files/quick.toml).
CONFIGS = {"ddpm": {"width": 16}, "ldm": {"width": 32, "ae_width": 16, "ae_share": 0.3},
           "dcgan": {"width": 32}}


def _generator(name: str, device: str):
    torch.manual_seed(0)
    data = clocks.build(seed=0, resolution=32, channels=1)
    gen = Host().generator(name)(data, torch.device(device), CONFIGS[name])
    batch = data.train.get(torch.arange(TRAIN_BATCH)).to(torch.device(device))
    if name == "ldm":
        gen.budget_spent = 1.0  # the diffusion stage: the one whose cost LDM cuts
    for _ in range(2):  # warm-up, and the ldm latent scale
        gen.train_step(batch)
    return gen, batch


def _synced(fn, device: str):
    def run():
        out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    return run


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", ["ddpm", "ldm"])
def test_train_step(benchmark, name, device):
    gen, batch = _generator(name, device)
    benchmark.group = f"diffusion train step {device}"
    benchmark.extra_info.update({"generator": name, "images": TRAIN_BATCH, "device": device})
    benchmark.pedantic(_synced(lambda: gen.train_step(batch), device), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name,sampler,steps", [("ddpm", "ddpm", 1000), ("ddpm", "ddim", 50), ("ldm", "ddpm", 1000),
                                                ("ldm", "ddim", 50), ("dcgan", "forward", 1)])
def test_sampling(benchmark, name, sampler, steps, device):
    gen, _ = _generator(name, device)
    gen.train(False)
    if name != "dcgan":
        gen.config.update({"sampler": sampler, "ddim_steps": steps})
    benchmark.group = f"sampling {SAMPLE_BATCH} images {device}"
    benchmark.extra_info.update({"generator": name, "sampler": sampler, "steps": steps, "images": SAMPLE_BATCH,
                                 "device": device})
    rounds = 1 if steps == 1000 else 3
    with torch.no_grad():
        benchmark.pedantic(_synced(lambda: gen.sample(SAMPLE_BATCH, SampleRNG(0, 0, SAMPLE_BATCH, device)), device),
                           rounds=rounds, warmup_rounds=1)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("backend", ["auto", "reference"])
@pytest.mark.parametrize("what", ["train-step", "ddim-50-loop"])
def test_fused_ops_in_context(benchmark, what, backend, device):
    gen, batch = _generator("ddpm", device)
    benchmark.group = f"ddpm {what} {device}: fused ops vs reference"
    benchmark.extra_info.update({"backend": backend, "device": device})
    if what == "train-step":
        fn = lambda: gen.train_step(batch)  # noqa: E731
    else:
        gen.config.update({"sampler": "ddim", "ddim_steps": 50})
        fn = lambda: gen.sample(SAMPLE_BATCH, SampleRNG(0, 0, SAMPLE_BATCH, device))  # noqa: E731
    with ops.use_backend(backend), torch.no_grad() if what != "train-step" else torch.enable_grad():
        benchmark.pedantic(_synced(fn, device), rounds=5, warmup_rounds=1)
