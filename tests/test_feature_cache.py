"""The reference-feature cache is keyed by content (plus extractor and preprocessing),
not by a dataset's name; quantization is what an 8-bit PNG stores."""

from __future__ import annotations

import numpy as np
import torch

from harness import FeatureExtractor
from harness.metrics import features
from harness.metrics.features import quantize, reference_features


class CountingExtractor(FeatureExtractor):
    """Per-channel means and standard deviations; counts the images it sees."""

    name = "counting"

    def __init__(self, version: str = "1") -> None:
        self.version, self.seen = version, 0

    def fingerprint(self) -> str:
        return f"counting-v{self.version}"

    def extract(self, images):
        self.seen += images.shape[0]
        return torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3))], dim=1), None


def test_quantize_is_what_a_png_stores():
    x = torch.tensor([-2.0, -1.0, -0.999, 0.0, 0.5, 1.0, 3.0])
    expected = np.clip(np.round((np.clip(x.numpy(), -1, 1) + 1) / 2 * 255), 0, 255).astype(np.uint8)
    assert quantize(x).dtype == torch.uint8 and (quantize(x).numpy() == expected).all()


def test_cache_hits_on_same_content_and_misses_on_one_changed_image(tmp_path):
    images = torch.rand(16, 1, 8, 8) * 2 - 1
    ex = CountingExtractor()
    first, cached = reference_features(ex, images, torch.device("cpu"), tmp_path)
    assert not cached and ex.seen == 16
    again, cached = reference_features(ex, images.clone(), torch.device("cpu"), tmp_path)
    assert cached and ex.seen == 16 and np.array_equal(again.features, first.features)
    changed = images.clone()
    changed[7, 0, 3, 3] = -changed[7, 0, 3, 3] if changed[7, 0, 3, 3].abs() > 0.05 else 0.9
    _, cached = reference_features(ex, changed, torch.device("cpu"), tmp_path)
    assert not cached and ex.seen == 32


def test_cache_key_includes_the_extractor_fingerprint(tmp_path):
    images = torch.rand(4, 1, 8, 8)
    reference_features(CountingExtractor("1"), images, torch.device("cpu"), tmp_path)
    _, cached = reference_features(CountingExtractor("2"), images, torch.device("cpu"), tmp_path)
    assert not cached


def test_a_corrupt_entry_is_recomputed(tmp_path):
    images = torch.rand(4, 1, 8, 8)
    ex = CountingExtractor()
    reference_features(ex, images, torch.device("cpu"), tmp_path)
    (entry,) = tmp_path.glob("counting-*.npz")
    entry.write_bytes(b"not an npz")
    feats, cached = reference_features(ex, images, torch.device("cpu"), tmp_path)
    assert not cached and feats.features.shape == (4, 2)
    assert reference_features(ex, images, torch.device("cpu"), tmp_path)[1]


def test_cache_dir_follows_genbench_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(features.CACHE_ENV, raising=False)
    assert features.default_cache_dir(tmp_path / "runs") == tmp_path / "runs" / "cache"
    monkeypatch.setenv(features.CACHE_ENV, str(tmp_path / "shared"))
    assert features.default_cache_dir(tmp_path / "runs") == tmp_path / "shared"
