"""The diffusion generators (ddpm, ldm): conformance and a smoke run on clocks and
digits, determinism, batch-size independence with in-kernel noise, the fused ops against
the reference in a whole sampling loop, resume to the same weights, a NaN loss recorded
with its step, LDM's two stages, and one trained model evaluated under two samplers."""

from __future__ import annotations

import pytest
import torch
from genbench_ddpm.diffusion import Diffusion, ddim_timesteps
from genbench_ddpm.plugin import Ddpm
from genbench_ddpm.unet import UNet, levels_for
from genbench_ldm.plugin import Ldm

from harness import Batch, Dataset, DatasetSpec, SampleRNG, TensorSplit, budgets, leaderboard, ops, suites
from harness.budgets import Budget
from harness.conformance import assert_conforms
from harness.datasets import clocks, digits
from harness.errors import UsageError
from harness.execution import seed_everything
from harness.plans import plan_suite
from harness.plugins import Host
from harness.training import Trainer
from tests.helpers import FolderLog, run_suite

CPU = torch.device("cpu")
# Small enough for seconds on a CPU: what the smoke suite uses too.
SMALL = {"ddpm": {"width": 16, "ddim_steps": 5}, "ldm": {"width": 16, "ae_width": 16, "ddim_steps": 5}}
CLASSES = {"ddpm": Ddpm, "ldm": Ldm}
DATASETS = {"clocks": lambda: clocks.build(seed=0), "digits": lambda: digits.build(seed=0)}


@pytest.fixture(scope="module")
def host() -> Host:
    return Host()


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_conforms(name, dataset):
    assert_conforms(CLASSES[name], DATASETS[dataset](), SMALL[name])


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_smoke_run(name, dataset, host, tmp_path):
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry(name, dataset, {}, SMALL[name])], (0,))
    store, _, (run,) = run_suite(tmp_path, suite, host)
    assert run.status == "ok", run.reason
    metrics = {m.name: m.value for m in store.metrics(run.run_id)}
    domain = "clocknet" if dataset == "clocks" else "digitnet"
    assert metrics[f"fd-{domain}"] > 0
    used = store.run(run.run_id).used
    assert used["images_seen"] == 512 and used["setting"].startswith("DDIM-5")
    if name == "ldm":
        assert 0 < metrics["ae_ssim"] <= 1 and "autoencoder 30%, diffusion 70%" in used["setting"]


# Two whole runs each (half a minute a model here): `make test-long` and CI run them;
# `make test` keeps the harness's own same-seed test (tests/test_runner.py).
@pytest.mark.long
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_same_seed_same_numbers(name, host, tmp_path):
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry(name, "clocks", {}, SMALL[name])], (0,))
    values = []
    for i in range(2):
        store, _, (run,) = run_suite(tmp_path / str(i), suite, host)
        values.append({m.name: m.value for m in store.metrics(run.run_id)
                       if m.name in ("fd-clocknet", "kid-clocknet", "ssim", "ae_ssim")})
    assert values[0] == values[1]


def _trained_ddpm(steps: int = 3) -> Ddpm:
    torch.manual_seed(0)
    data = clocks.build(seed=0)
    gen = Ddpm(data, CPU, SMALL["ddpm"])
    for _ in range(steps):
        gen.train_step(data.train.get(torch.arange(16)))
    return gen


@pytest.mark.parametrize("sampler", ["ddpm", "ddim-eta"])
def test_in_kernel_noise_does_not_depend_on_the_batch(sampler):
    gen = _trained_ddpm()
    gen.config.update({"sampler": "ddpm"} if sampler == "ddpm" else {"eta": 1.0})
    gen.schedule = gen.diffusion.schedule = ops.NoiseSchedule("linear", 40)  # a short chain: seconds
    whole = gen.sample(6, SampleRNG(7, 0, 6))
    parts = torch.cat([gen.sample(2, SampleRNG(7, 0, 2)), gen.sample(4, SampleRNG(7, 2, 4))])
    torch.testing.assert_close(whole, parts, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_fused_and_reference_backends_give_the_same_samples(sampler):
    torch.manual_seed(0)
    unet = UNet(1, 16, 2).eval()
    schedule = ops.NoiseSchedule("linear", 30)
    diffusion = Diffusion(unet, schedule, clip_x0=True)
    step_noise = torch.randn(30, 4, 1, 16, 16)

    def run(backend: str, noise) -> torch.Tensor:
        with ops.use_backend(backend):
            return diffusion.sample(unet, (1, 16, 16), SampleRNG(3, 0, 4), sampler, 10, eta=1.0, noise=noise)

    given = run("auto", lambda t: step_noise[t]), run("reference", lambda t: step_noise[t])
    torch.testing.assert_close(*given, rtol=1e-5, atol=1e-5)
    in_kernel = run("auto", None), run("reference", None)
    torch.testing.assert_close(*in_kernel, rtol=1e-5, atol=1e-5)


def test_ddim_timesteps():
    assert ddim_timesteps(1000, 50)[:3] == [999, 979, 958] and ddim_timesteps(1000, 50)[-1] == 0
    assert len(ddim_timesteps(1000, 50)) == 50 and ddim_timesteps(10, 10) == list(range(9, -1, -1))
    with pytest.raises(ValueError, match="1 <= steps <= T"):
        ddim_timesteps(10, 11)


def test_depth_follows_the_resolution():
    assert [levels_for(r, 8) for r in (8, 16, 28, 32, 64)] == [1, 2, 2, 3, 4]
    assert levels_for(8, 4) == 2
    assert Ddpm(clocks.build(seed=0, resolution=64), CPU, SMALL["ddpm"]).config["levels"] == 4


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.long) if n == "ddpm" else n
                                  for n in sorted(CLASSES)])
def test_resume_mid_training_gives_the_same_weights(name, tmp_path):
    data = clocks.build(seed=0)
    budget = Budget("t", images=384, wall_clock_s=600, eval_every=128, n_samples=16)
    cls = CLASSES[name]

    def trainer(run_dir, on_evaluation=None):
        seed_everything(0)
        run_dir.mkdir()
        gen = cls(data, CPU, {**SMALL[name], "batch_size": 32})
        return gen, Trainer(gen, data, budget, 0, FolderLog(run_dir, on_evaluation), show_progress=False)

    straight, t = trainer(tmp_path / "straight")
    t.run()

    def stop_at_256(record):
        if record["images_seen"] == 256:
            raise _Interrupt

    _, t = trainer(tmp_path / "killed", stop_at_256)
    with pytest.raises(_Interrupt):
        t.run()
    resumed, t = trainer(tmp_path / "resumed")
    ckpt = torch.load(tmp_path / "killed" / "checkpoints" / "ckpt-0000000128.pt", weights_only=True)
    t.restore(ckpt)
    t.run()
    a, b = straight.state_dict(), resumed.state_dict()
    for part in ("unet", "ema"):
        flat_a = a[part] if part == "unet" else a[part]["model"]
        flat_b = b[part] if part == "unet" else b[part]["model"]
        for key in flat_a:
            assert torch.equal(flat_a[key], flat_b[key]), (part, key)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_a_nan_loss_is_recorded_with_its_step(name, host, tmp_path):
    data = clocks.build(seed=0)
    nan_images = torch.full_like(data.train.get(torch.arange(len(data.train))).images, float("nan"))
    broken = Dataset("nan-clocks", data.resolution, data.channels, TensorSplit(nan_images), data.val, data.test)

    host.datasets["nan-clocks"] = DatasetSpec("nan-clocks", build=lambda seed=0: broken)
    try:
        suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry(name, "nan-clocks", {}, SMALL[name])], (0,))
        store, _, (run,) = run_suite(tmp_path, suite, host)
    finally:
        del host.datasets["nan-clocks"]
    assert run.status == "failed"
    row = store.run(run.run_id)
    assert row.failed_step == 1 and "became nan at step 1" in row.reason


def test_ldm_trains_in_two_declared_stages():
    data = clocks.build(seed=0)
    gen = Ldm(data, CPU, SMALL["ldm"])
    batch = data.train.get(torch.arange(16))
    gen.budget_spent = 0.1
    assert gen.train_step(batch)["stage"] == 0.0 and gen.latent_scale is None
    assert gen.validation_loss(batch) is None
    gen.budget_spent = 0.3
    logs = gen.train_step(batch)
    assert logs["stage"] == 1.0 and gen.latent_scale > 0
    latents = gen._latents(data.train.get(torch.arange(512)).images)
    assert latents.shape[1:] == (4, 8, 8) and latents.std().item() == pytest.approx(1.0, rel=1e-4)
    assert gen.validation_loss(Batch(batch.images)) > 0


def test_one_model_under_two_samplers_trains_once(host, tmp_path):
    entry = suites.Entry("ddpm", "clocks", {}, SMALL["ddpm"], None, ({"ddim_steps": 2}, {"sampler": "ddpm"}))
    budget = Budget("t", images=256, wall_clock_s=600, eval_every=256, n_samples=16)
    suite = suites.Suite("t", budget, [entry], (0,))
    (plan,) = plan_suite(host, suite)
    plan.config["T"] = 40  # DDPM with all T steps: keep the chain short here
    from harness.records import ResultsStore
    from harness.runner import SuiteRunner

    store = ResultsStore(tmp_path / "genbench.sqlite")
    runner = SuiteRunner(host, store, tmp_path, CPU, show_progress=False)
    _, outcomes = runner.run_suite(suite, [plan])
    assert [o.status for o in outcomes] == ["ok", "ok", "ok"]
    rows = [store.run(o.run_id) for o in outcomes]
    used = [r.used for r in rows]
    assert [u["setting"] for u in used] == ["DDIM-5", "DDIM-2", "DDPM-40"]
    assert used[1]["trained_in"] == used[2]["trained_in"] == outcomes[0].run_id
    assert {u["images_seen"] for u in used} == {256}
    assert len(store.evaluations(outcomes[0].run_id)) == 1  # trained once
    assert all(not (o.run_dir / "checkpoints").exists() for o in outcomes[1:])
    assert all((o.run_dir / "samples.png").is_file() for o in outcomes)
    board = leaderboard.build(store, store.runs(), "t")
    assert [c.key for c in board.columns][:4] == ["generator", "dataset", "seed", "setting"]


def test_samplers_may_only_set_sampling_keys(host):
    entry = suites.Entry("ddpm", "clocks", {}, {}, None, ({"lr": 0.1},))
    with pytest.raises(UsageError, match=r"only set its sampling keys .*not lr"):
        plan_suite(host, suites.Suite("t", budgets.NAMED["smoke"], [entry], (0,)))
    entry = suites.Entry("dcgan", "clocks", {}, {}, None, ({"sampler": "ddpm"},))
    with pytest.raises(UsageError, match="it has none"):
        plan_suite(host, suites.Suite("t", budgets.NAMED["smoke"], [entry], (0,)))
