"""FID's Inception: the weights lookup order, SHA-256 verification, no network unless
asked, and features equal to pytorch-fid's own on the same images saved as PNG.

The weights are written by the test (``tests.helpers.random_state_dict``: the real
layout, random values) under the real file name, which proves a real file would load the
same way."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from harness.metrics import inception
from harness.metrics.features import extract, quantize
from tests.conftest import devices
from tests.helpers import TinyPlugin, genbench, random_state_dict, run_suite, tiny_suite


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> tuple[Path, str]:
    """Test-written weights in a torch hub cache: (TORCH_HOME, their SHA-256)."""
    home = tmp_path_factory.mktemp("torch_home")
    path = home / "hub" / "checkpoints" / inception.WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save(random_state_dict(seed=0), path)
    return home, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a URL fails the test."""

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.delenv(inception.PATH_ENV, raising=False)
    monkeypatch.delenv(inception.DOWNLOAD_ENV, raising=False)


def test_hub_cache_is_found_and_verified(weights_file, monkeypatch, offline):
    home, sha = weights_file
    monkeypatch.setenv("TORCH_HOME", str(home))
    assert inception.weights_lookup(expected=sha) == home / "hub" / "checkpoints" / inception.WEIGHTS_FILE
    # The same file against the real hash: refused, naming both hashes.
    with pytest.raises(inception.WeightsError, match=f"SHA-256 {sha}, expected {inception.WEIGHTS_SHA256}"):
        inception.weights_lookup()


def test_explicit_path_comes_first(weights_file, tmp_path, monkeypatch, offline):
    home, sha = weights_file
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    copy = tmp_path / "elsewhere.pth"
    copy.write_bytes((home / "hub" / "checkpoints" / inception.WEIGHTS_FILE).read_bytes())
    monkeypatch.setenv(inception.PATH_ENV, str(copy))
    assert inception.weights_lookup(expected=sha) == copy
    monkeypatch.setenv(inception.PATH_ENV, str(tmp_path / "missing.pth"))
    with pytest.raises(inception.WeightsError, match=r"missing\.pth, which does not exist"):
        inception.weights_lookup(expected=sha)


def test_nothing_found_offline_says_where_it_looked(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(inception.WeightsError, match=r"torch hub cache .* downloading is off"):
        inception.weights_lookup()
    reason = inception.InceptionExtractor().unavailable()
    assert reason and "no FID Inception weights" in reason


def test_fetch_verifies_before_installing(weights_file, tmp_path):
    home, sha = weights_file
    url = (home / "hub" / "checkpoints" / inception.WEIGHTS_FILE).as_uri()  # no network: a file URL
    dest = tmp_path / "hub" / inception.WEIGHTS_FILE
    with pytest.raises(inception.WeightsError, match="not installed"):
        inception.fetch(url, dest)
    assert not dest.exists() and not list(dest.parent.glob("*.part"))
    assert inception.fetch(url, dest, expected=sha) == dest
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha


def test_features_equal_pytorch_fid_on_saved_pngs(weights_file, tmp_path, monkeypatch, offline):
    """Our tensor pipeline (quantize, no PIL) against pytorch-fid's own model and loader
    reading the same images from PNG files; pytorch-fid loads the same weights from the
    hub cache by itself."""
    from pytorch_fid.fid_score import get_activations
    from pytorch_fid.inception import InceptionV3

    home, sha = weights_file
    monkeypatch.setenv("TORCH_HOME", str(home))
    g = torch.Generator().manual_seed(0)
    images = torch.rand(6, 1, 32, 24, generator=g) * 2.2 - 1.1  # out of range too: clamped like a PNG
    images[3:] = images[3:].expand(-1, 1, -1, -1)
    rgb = torch.rand(3, 3, 32, 24, generator=g) * 2 - 1
    for name, batch in (("gray", images), ("rgb", rgb)):
        files = []
        for i, img in enumerate(quantize(batch)):
            arr = img.permute(1, 2, 0).squeeze(-1).numpy()
            files.append(tmp_path / f"{name}{i}.png")
            Image.fromarray(arr).save(files[-1])
        theirs = get_activations(files, InceptionV3([3]).eval(), batch_size=len(files), num_workers=0)
        ours = extract(inception.InceptionExtractor(expected_sha256=sha), batch, torch.device("cpu")).features
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_fid_metric_is_unavailable_not_replaced(tmp_path, monkeypatch, offline):
    from harness.api import Batch, EvalContext
    from harness.metrics.feature_metrics import FrechetMetric, KidMetric

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    x = torch.zeros(4, 1, 32, 32)
    ctx = EvalContext(None, None, x, None, torch.device("cpu"), 0, Batch(x))
    for metric in (FrechetMetric(inception.InceptionExtractor()), KidMetric(inception.InceptionExtractor())):
        result = metric.compute(ctx)
        assert result.value is None and "no FID Inception weights" in result.unavailable
    assert FrechetMetric(inception.InceptionExtractor()).name == "fid"


def test_cli_weights_status_and_bad_fid_weights(weights_file, tmp_path):
    home, _ = weights_file
    empty = {"TORCH_HOME": str(tmp_path / "empty"), inception.PATH_ENV: "", inception.DOWNLOAD_ENV: ""}
    r = genbench("weights", "status", env=empty)
    assert r.returncode == 1 and "torch hub cache" in r.stdout and "FID unavailable" in r.stdout
    r = genbench("weights", "status", env={**empty, "TORCH_HOME": str(home)})
    assert r.returncode == 1 and "found" in r.stdout and f"expected {inception.WEIGHTS_SHA256}" in r.stdout
    wrong = home / "hub" / "checkpoints" / inception.WEIGHTS_FILE
    r = genbench("run", "-g", "clock", "-b", "smoke", "--fid-weights", wrong, "--out", tmp_path / "runs", env=empty)
    assert r.returncode == 2 and "SHA-256" in r.stderr and not (tmp_path / "runs").exists()
    r = genbench("run", "-g", "clock", "-b", "smoke", "--fid-weights", tmp_path / "nope.pth",
                 "--out", tmp_path / "runs", env=empty)
    assert r.returncode == 2 and "no such file" in r.stderr


@pytest.mark.parametrize("device", devices())
def test_features_agree_across_devices(weights_file, device, monkeypatch, offline):
    # cuDNN may run the convolutions in TF32 on a GPU (as it does for pytorch-fid), so
    # the agreement is relative to the features' size rather than elementwise exact.
    home, sha = weights_file
    monkeypatch.setenv("TORCH_HOME", str(home))
    images = torch.rand(4, 3, 40, 40, generator=torch.Generator().manual_seed(1)) * 2 - 1
    extractor = inception.InceptionExtractor(expected_sha256=sha)
    here = torch.from_numpy(extract(extractor, images, torch.device(device)).features)
    cpu = torch.from_numpy(extract(extractor, images, torch.device("cpu")).features)
    assert (here - cpu).norm() <= 1e-2 * cpu.norm()


def test_a_run_reports_fid_where_weights_verify(weights_file, tmp_path, monkeypatch, offline):
    """End to end: with weights present and verified, the FID and KID columns are
    numbers. (An extractor subclass trusts the test file's hash; the built-in one, which
    trusts only the real file's, stays unavailable in the same run.)"""
    from harness import hookimpl
    from harness.plugins import Host

    home, sha = weights_file
    monkeypatch.setenv("TORCH_HOME", str(home))

    class TestInception(inception.InceptionExtractor):
        name, fd_name = "inception-test", "fid-test"

    class Plugin:
        @hookimpl
        def genbench_feature_extractors(self):
            return [TestInception(expected_sha256=sha)]

    host = Host(plugins=[("tiny", TinyPlugin()), ("fidtest", Plugin())])
    store, _, (run,) = run_suite(tmp_path, tiny_suite({}), host)
    metrics = {m.name: m for m in store.metrics(run.run_id)}
    assert metrics["fid-test"].value > 0 and metrics["kid-inception-test"].value is not None
    assert metrics["fid"].value is None and "expected " + inception.WEIGHTS_SHA256 in metrics["fid"].unavailable
