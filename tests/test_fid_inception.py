"""FID's Inception: the weights lookup order, SHA-256 verification, no network unless
asked, and a run's FID where the weights verify.

The weights are written by the test (``tests.helpers.random_state_dict``: the real
layout, random values) under the real file name, which proves a real file would load the
same way. Their features are tiny (about 1e-7), too small to show a wrong feature: parity
with pytorch-fid is checked with realistically scaled weights in ``test_fid_parity.py``."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

import pytest
import torch

from harness.metrics import inception
from harness.metrics.features import extract
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


def test_fingerprint_names_the_layout():
    """Channels-last and contiguous features differ by float rounding, so the cache keeps
    them apart; the default keeps the fingerprint genbench always had (its entries stay)."""
    default, contiguous = inception.InceptionExtractor(), inception.InceptionExtractor(channels_last=False)
    assert default.fingerprint() == f"pytorch-fid-inception-v3|pool3|bilinear-299|{inception.WEIGHTS_SHA256}"
    assert contiguous.fingerprint() != default.fingerprint() and "contiguous" in contiguous.fingerprint()
