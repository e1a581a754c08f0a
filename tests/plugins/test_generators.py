"""The built-in generators of the Generators I issue (dcgan, upgan, betavae, vqvae) and
the baseline rows: conformance and a smoke run on clocks and digits each, determinism of
a whole run, the Fashion-MNIST upsampling GAN's parameter count, the fused op in the
act -> upsample steps, a GAN whose loss goes NaN, and the VQ-VAE's two declared stages."""

from __future__ import annotations

import json

import pytest
import torch
from genbench_baselines.plugin import GaussianBaseline, NoiseBaseline, TrainCopyBaseline
from genbench_betavae.plugin import BetaVae
from genbench_dcgan.plugin import Dcgan
from genbench_upgan.plugin import Upgan, UpganNet
from genbench_vqvae.plugin import VqVae

from harness import Dataset, SampleRNG, TensorSplit, budgets, ops, suites
from harness.conformance import assert_conforms
from harness.datasets import clocks, digits
from harness.plugins import Host
from tests.helpers import run_suite

GENERATORS = [Dcgan, Upgan, BetaVae, VqVae, GaussianBaseline, NoiseBaseline, TrainCopyBaseline]
DATASETS = {"clocks": lambda: clocks.build(seed=0), "digits": lambda: digits.build(seed=0)}


@pytest.fixture(scope="module")
def host() -> Host:
    return Host()


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("cls", GENERATORS, ids=lambda c: c.name)
def test_conforms(cls, dataset):
    assert_conforms(cls, DATASETS[dataset]())


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("name", [c.name for c in GENERATORS])
def test_smoke_run(name, dataset, host, tmp_path):
    # The upsampling GAN trains at about 16 images/s at 32x32 on a 2-core CPU; at
    # 16x16 the same code path runs about four times faster.
    options = {"resolution": 16} if name == "upgan" else {}
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry(name, dataset, options)], (0,))
    store, _, (run,) = run_suite(tmp_path, suite, host)
    assert run.status == "ok", run.reason
    metrics = {m.name: m for m in store.metrics(run.run_id)}
    domain = "clocknet" if dataset == "clocks" else "digitnet"
    assert metrics[f"fd-{domain}"].value > 0 and metrics[f"kid-{domain}"].value is not None
    assert metrics["ssim"].details["kind"] == host.generator(name).ssim_kind
    used = store.run(run.run_id).used
    assert used["images_seen"] == (512 if host.generator(name).trains else 0)


@pytest.mark.long  # two whole runs each: `make test-long` and CI run them
@pytest.mark.parametrize("name", ["dcgan", "vqvae"])
def test_same_seed_same_numbers(name, host, tmp_path):
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry(name, "digits")], (0,))
    values = []
    for i in range(2):
        store, _, (run,) = run_suite(tmp_path / str(i), suite, host)
        values.append({m.name: m.value for m in store.metrics(run.run_id) if m.name.split("-")[0]
                       in ("fd", "kid", "ssim", "modes", "mode", "codebook", "prior")})
    assert values[0] == values[1] and "fd-digitnet" in values[0]


def mnist_shaped(n: int = 64) -> Dataset:
    images = torch.rand(n, 1, 28, 28) * 2 - 1
    split = TensorSplit(images, labels=torch.arange(n) % 10)
    return Dataset("mnist-shaped", 28, 1, split, split, split, num_classes=10)


def test_upgan_has_seed_001s_parameter_count():
    assert sum(p.numel() for p in UpganNet(128, 1, 28).parameters()) == 2_155_137
    assert Upgan(mnist_shaped(), torch.device("cpu"), {}).parameter_count() == 2_155_137


@pytest.mark.parametrize("cls", [Upgan, BetaVae, VqVae], ids=lambda c: c.name)
def test_act_upsample_steps_use_the_fused_op(cls, monkeypatch):
    calls = []
    real = ops.bias_act_upsample
    monkeypatch.setattr(ops, "bias_act_upsample", lambda *a, **k: calls.append(k) or real(*a, **k))
    gen = cls(digits.build(seed=0), torch.device("cpu"), {})
    gen.train_step(gen.dataset.train.get(torch.arange(8)))
    assert len(calls) == 2 and all(k["scale"] == 2 for k in calls)


def test_a_gan_whose_loss_goes_nan_is_recorded_as_failed(host, tmp_path):
    # A learning rate of 1e12 throws the weights to inf in one step; step 2's losses are NaN.
    entry = suites.Entry("dcgan", "digits", {}, {"lr": 1e12})
    store, _, (run,) = run_suite(tmp_path, suites.Suite("t", budgets.NAMED["smoke"], [entry], (0,)), host)
    row = store.run(run.run_id)
    assert run.status == "failed" and row.failed_step == 2
    assert row.reason.startswith("loss_g became nan at step 2")


def test_vqvae_trains_its_prior_as_a_second_stage(host, tmp_path):
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry("vqvae", "digits")], (0,))
    store, _, (run,) = run_suite(tmp_path, suite, host)
    stats = [json.loads(line) for line in (run.run_dir / "stats.jsonl").read_text().splitlines()]
    # smoke evaluates after 256 and 512 images; with ae_share 0.75 the first half is
    # all autoencoder, the second half ends in the prior stage.
    assert stats[0]["train/stage"] == 0 and 0 < stats[1]["train/stage"] < 1 and "train/prior_nll" in stats[1]
    metrics = {m.name: m.value for m in store.metrics(run.run_id)}
    assert metrics["codebook_perplexity"] > 1 and metrics["prior_bits_per_code"] > 0


def test_betavae_reports_bits_per_dim_lower_is_better(host, tmp_path):
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry("betavae", "digits")], (0,))
    store, _, (run,) = run_suite(tmp_path, suite, host)
    (bpd,) = [m for m in store.metrics(run.run_id) if m.name == "neg_elbo_bits_per_dim"]
    assert bpd.direction == "min" and 0 < bpd.value < 16


@pytest.mark.parametrize("shape", ["28x28x1", "32x32x3"])
@pytest.mark.parametrize("cls", [Dcgan, Upgan, BetaVae, VqVae], ids=lambda c: c.name)
def test_adapts_to_resolution_and_channels(cls, shape):
    data = mnist_shaped() if shape == "28x28x1" else clocks.build(seed=0, resolution=32, channels=3)
    gen = cls(data, torch.device("cpu"), {})
    logs = gen.train_step(data.train.get(torch.arange(4)))
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    gen.train(False)
    with torch.no_grad():
        x = gen.sample(2, SampleRNG(0, 0, 2))
    assert tuple(x.shape) == (2, data.channels, data.resolution, data.resolution)


def test_vqvae_codebook_moves_only_in_training_steps():
    data = digits.build(seed=0)
    gen = VqVae(data, torch.device("cpu"), {})
    gen.train_step(data.train.get(torch.arange(16)))
    before = {k: v.clone() for k, v in gen.quantizer.state_dict().items()}
    gen.validation_loss(data.val.get(torch.arange(16)))  # the trainer calls it in training mode
    gen.reconstruct(data.test.images[:16])
    assert all(torch.equal(before[k], v) for k, v in gen.quantizer.state_dict().items())
    gen.train_step(data.train.get(torch.arange(16, 32)))
    assert not torch.equal(before["embed"], gen.quantizer.embed)
