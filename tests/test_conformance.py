"""`genbench check-plugin` passes the built-in clock and the built-in plugin, names what
a bad generator gets wrong, and checks a plugin that provides only a dataset."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from harness import hookimpl, plugins
from harness.api import DatasetSpec
from harness.conformance import CheckResult, assert_conforms, check_generator
from harness.datasets import clocks
from tests.helpers import TinyGenerator


class BatchDependent(TinyGenerator):
    name = "batchdep"

    def sample(self, n, rng, condition=None):
        return torch.rand(n, *self.mean.shape[1:]) * 2 - 1  # global RNG: breaks the contract


class OutOfRange(TinyGenerator):
    name = "outofrange"

    def sample(self, n, rng, condition=None):
        return rng.randn(*self.mean.shape[1:]) * 5


def test_clock_conforms(run_cli):
    code, out, _ = run_cli("check-plugin", "clock")
    assert code == 0 and "all checks passed" in out


def test_tiny_conforms(clock_data):
    assert_conforms(TinyGenerator, clock_data)


def test_batch_dependent_sampling_is_named(clock_data):
    failures = {r.check: r.message for r in check_generator(BatchDependent, clock_data) if not r.ok}
    assert "same seed, same samples" in failures
    assert "SampleRNG" in failures["samples do not depend on the batch size"]


def test_out_of_range_is_named(clock_data):
    with pytest.raises(AssertionError, match=r"must lie in \[-1, 1\]"):
        assert_conforms(OutOfRange, clock_data)


def test_a_result_says_whether_it_failed():
    assert CheckResult("tiny", "a check", "skip", "no files").ok
    assert not CheckResult("tiny", "a check", "fail", "wrong").ok
    assert CheckResult("tiny", "a check", "ok").generator == "tiny"


def test_unknown_plugin(run_cli):
    code, _, err = run_cli("check-plugin", "nope")
    assert code == 2 and "no plugin, generator, dataset, feature extractor or reporter 'nope'" in err


def test_builtins_pass_with_skips_for_file_datasets_and_inception(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./data here
    monkeypatch.delenv("GENBENCH_DATA", raising=False)
    code, out, _ = run_cli("check-plugin", "builtins")
    assert code == 0, out
    assert out.splitlines()[-1] == "all checks passed (4 skipped)"
    assert "note builtins: metrics have no conformance check (1 not checked: ssim)" in out
    for name in ("mnist", "fashion-mnist", "cifar10"):
        assert f"skip {name}: build(seed, **options) returns a harness.Dataset\n" \
               f"       cannot be built here: {name}: files not found." in out
    assert "skip inception: unavailable() is None\n       unavailable here: no FID Inception weights" in out
    for name in ("clocks", "digits", "clocknet", "digitnet", "md", "csv", "json", "term"):
        assert f"ok   {name}: " in out


@pytest.mark.parametrize("name, check", [("clocknet", "same images, same features"),
                                         ("csv", "every row's generator is in the output")])
def test_one_item_by_its_name(run_cli, name, check):
    code, out, _ = run_cli("check-plugin", name)
    assert code == 0 and f"ok   {name}: {check}" in out and out.endswith("all checks passed\n")


class ShapesPlugin:
    """A plugin with only a dataset, which declares 32x32 and yields 16x16 images."""

    @hookimpl
    def genbench_datasets(self):
        def build(seed, resolution):
            return dataclasses.replace(clocks.build(seed, resolution=resolution // 2), resolution=resolution)

        return [DatasetSpec("shapes", build=build, defaults={"resolution": 16})]


def test_a_dataset_only_plugin_is_checked(run_cli, monkeypatch):
    host = plugins.Host
    monkeypatch.setattr(plugins, "Host", lambda **kwargs: host(plugins=[("shapes", ShapesPlugin())], **kwargs))
    code, out, _ = run_cli("check-plugin", "shapes")
    assert code == 1
    assert ("FAIL shapes: each split yields float images (n, C, H, W) of the declared resolution and channels\n"
            "       train, val and test: get(items 0-3) has images of shape (4, 1, 8, 8), expected (4, 1, 16, 16)"
            in out)
    assert "ok   shapes: the same seed gives the same splits, bit for bit" in out
    assert out.splitlines()[-1] == "2 check(s) failed"  # the shape, and render's shape
