"""The columns derived from a feature extractor (a third-party one here), the cache
across runs, and a metric that raises: recorded as unavailable, the run kept."""

from __future__ import annotations

import torch

from harness import FeatureExtractor, Metric, hookimpl
from harness.plugins import Host
from tests.helpers import TinyPlugin, run_suite, tiny_suite


class BrightnessNet(FeatureExtractor):
    """Mean and std per image; 'classes' are brightness quartiles."""

    name = "brightness"
    num_classes = 4

    def fingerprint(self) -> str:
        return "brightness-v1"

    def extract(self, images):
        mean = images.mean(dim=(1, 2, 3))
        return torch.stack([mean, images.std(dim=(1, 2, 3))], dim=1), (mean * 4).long().clamp(0, 3)


class Exploding(Metric):
    name, direction = "exploding", "max"

    def compute(self, ctx):
        raise ZeroDivisionError("planted")


class FeaturePlugin:
    @hookimpl
    def genbench_feature_extractors(self):
        return [BrightnessNet()]

    @hookimpl
    def genbench_metrics(self):
        return [Exploding()]


def test_extractor_columns_cache_and_a_raising_metric(tmp_path):
    host = Host(plugins=[("tiny", TinyPlugin()), ("features", FeaturePlugin())])
    for column in ("fd-brightness", "fd-brightness-inf", "kid-brightness", "modes-brightness", "mode-kl-brightness"):
        assert host.owner("metrics", column) == "features"
    assert host.owner("feature_extractors", "brightness") == "features"
    store, _, (first,) = run_suite(tmp_path, tiny_suite({}), host)
    assert first.status == "ok", first.reason
    metrics = {m.name: m for m in store.metrics(first.run_id)}
    fd = metrics["fd-brightness"]
    assert fd.value > 0 and fd.n == 64
    details = fd.details
    assert details["small_n"] and not details["real_features_cached"] and details["n_real"] == 64
    kid = metrics["kid-brightness"].details  # N = 64 on both sides: one exact value, its sampling interval, no std
    assert "std" not in kid and kid["interval"][0] < metrics["kid-brightness"].value < kid["interval"][1]
    assert fd.details["interval"][0] < fd.value < fd.details["interval"][1]
    assert metrics["fd-brightness-inf"].details["fit_points"][-1] == 64
    assert 1 <= metrics["modes-brightness"].value <= 4 and metrics["mode-kl-brightness"].value >= 0
    assert metrics["exploding"].value is None
    assert metrics["exploding"].unavailable == "the metric raised ZeroDivisionError: planted"
    assert list((tmp_path / "cache").glob("brightness-*.npz"))
    _, _, (second,) = run_suite(tmp_path, tiny_suite({}), host)
    again = {m.name: m for m in store.metrics(second.run_id)}
    assert again["fd-brightness"].details["real_features_cached"]
    assert again["fd-brightness"].value == fd.value
