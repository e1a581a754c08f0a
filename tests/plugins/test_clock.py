"""The clock plugin: trains under smoke, conforms, runs on the fused upsample op, and
gives the same results under GENBENCH_OPS=reference."""

from __future__ import annotations

import pytest
import torch
from genbench_clock.model import ClockDecoder
from genbench_clock.plugin import ClockGenerator

from harness import ops
from harness.budgets import NAMED
from harness.conformance import assert_conforms
from harness.rng import SampleRNG
from harness.training import Trainer
from tests.helpers import FolderLog


def test_conforms(clock_data):
    assert_conforms(ClockGenerator, clock_data)


def test_uses_the_fused_upsample(monkeypatch, clock_data):
    calls = []
    real = ops.bias_act_upsample
    monkeypatch.setattr(ops, "bias_act_upsample", lambda *a, **k: calls.append(k) or real(*a, **k))
    ClockDecoder(1, 32, 16, 8)(torch.zeros(2, 6))
    assert len(calls) == 2 and all(k["act"] == "lrelu" and k["scale"] == 2 for k in calls)


def _train(clock_data, tmp_path, backend: str) -> tuple[torch.Tensor, float]:
    torch.manual_seed(0)
    tmp_path.mkdir()
    with ops.use_backend(backend):
        gen = ClockGenerator(clock_data, torch.device("cpu"), {})
        Trainer(gen, clock_data, NAMED["smoke"], 0, FolderLog(tmp_path), show_progress=False).run()
        gen.net.eval()
        test = clock_data.test.get(torch.arange(16))
        with torch.no_grad():
            out = gen.sample(16, SampleRNG(0, 0, 16), test.conditions)
    return out, torch.nn.functional.mse_loss(out, test.images).item()


@pytest.mark.skipif(not ops.BUILD_INFO.get("cpu"), reason="harness._C not built")
def test_fused_and_reference_backends_train_alike(clock_data, tmp_path):
    fused, fused_loss = _train(clock_data, tmp_path / "fused", "cpu")
    ref, ref_loss = _train(clock_data, tmp_path / "ref", "reference")
    # Same data, seeds and math; the kernels differ from the reference only by fp32
    # rounding, which 16 Adam steps amplify a little.
    torch.testing.assert_close(fused, ref, atol=2e-3, rtol=0)
    assert fused_loss == pytest.approx(ref_loss, rel=1e-3)


def test_resolution_and_channels(clock_data):
    from harness.datasets import clocks

    rgb64 = clocks.build(resolution=64, channels=3)
    gen = ClockGenerator(rgb64, torch.device("cpu"), {})
    out = gen.sample(2, SampleRNG(0, 0, 2), rgb64.test.get(torch.arange(2)).conditions)
    assert out.shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="needs a condition"):
        gen.sample(2, SampleRNG(0, 0, 2))
