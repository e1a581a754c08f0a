"""The reference-feature cache is keyed by content (plus extractor and preprocessing),
not by a dataset's name; quantization is what an 8-bit PNG stores. Every entry holds its
full key and its payload's SHA-256: one that does not verify is recomputed, replaced and
warned about."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from harness import FeatureExtractor
from harness.metrics import features
from harness.metrics.features import FeatureCacheWarning, extract, quantize, reference_features

CPU = torch.device("cpu")


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


class ClassifyingExtractor(CountingExtractor):
    """CountingExtractor with a predicted class per image, as a domain classifier has."""

    name = "classifying"

    def extract(self, images):
        feats, _ = super().extract(images)
        return feats, (feats[:, 0] * 10).long().clamp(0, 9)


def entry_of(cache_dir, ex):
    (entry,) = cache_dir.glob(f"{ex.name}-*.npz")
    return entry


def flip_bit(path, offset_fraction=0.5):
    raw = bytearray(path.read_bytes())
    raw[int(len(raw) * offset_fraction)] ^= 0x10
    path.write_bytes(bytes(raw))


def altered_values(path):
    with np.load(path) as z:
        arrays = {name: z[name] for name in z.files}
    arrays["features"] = arrays["features"] * 1000  # fd-clocknet went from 25.6 to 1,300,470 this way
    np.savez(path, **arrays)


def old_format(path):
    with np.load(path) as z:
        arrays = {name: z[name] for name in ("features", "classes") if name in z.files}
    np.savez(path, **arrays)


def object_array(path):
    with np.load(path) as z:
        arrays = {name: z[name] for name in z.files}
    np.savez(path, **(arrays | {"features": np.array([{"a": 1}], dtype=object)}))


def resealed_flat(path):
    # Checksum recomputed, so only the shape check can tell: features of the wrong shape.
    with np.load(path) as z:
        arrays = {name: z[name] for name in z.files}
    payload = {name: arrays[name] for name in ("features", "classes") if name in arrays}
    payload["features"] = payload["features"].reshape(-1)
    np.savez(path, **arrays | payload | {features.HASH_FIELD: np.array(features.payload_sha256(payload))})


DAMAGES = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "it is unreadable"),
    "flipped-bit": (flip_bit, "it is unreadable (BadZipFile: Bad CRC-32"),
    "zero-bytes": (lambda p: p.write_bytes(b""), "it is unreadable (EOFError"),
    "not-an-npz": (lambda p: p.write_bytes(b"not an npz"), "it is unreadable"),
    "altered-values": (altered_values, "its arrays do not match their SHA-256 (altered or damaged)"),
    "old-format": (old_format, "it has no key and checksum (written by an older genbench), so it is unverified"),
    "pickled-object": (object_array, "it is unreadable (ValueError: Object arrays cannot be loaded"),
    "resealed-flat": (resealed_flat, "it holds float32 features of shape (12,), expected float32 (6, D)"),
}


@pytest.mark.parametrize("extractor", [CountingExtractor, ClassifyingExtractor], ids=["features", "classes"])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_entry_is_recomputed_replaced_and_warned_about(tmp_path, extractor, damage):
    images = torch.rand(6, 1, 8, 8) * 2 - 1
    ex = extractor()
    first, _ = reference_features(ex, images, CPU, tmp_path)
    entry = entry_of(tmp_path, ex)
    damage_it, reason = DAMAGES[damage]
    damage_it(entry)
    with pytest.warns(FeatureCacheWarning) as warned:
        feats, cached = reference_features(ex, images, CPU, tmp_path)
    (message,) = [str(w.message) for w in warned]
    assert message.startswith(f"feature cache entry {entry}: {reason}"), message
    assert message.endswith("; recomputing the features and replacing it")
    fresh = extract(extractor(), images, CPU)
    assert not cached and ex.seen == 12
    assert np.array_equal(feats.features, fresh.features) and np.array_equal(first.features, fresh.features)
    assert (feats.classes is None) == (fresh.classes is None)
    assert feats.classes is None or np.array_equal(feats.classes, fresh.classes)
    # Replaced: the next read verifies, from the cache, without a warning or an extraction.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again, cached = reference_features(ex, images, CPU, tmp_path)
    assert cached and ex.seen == 12 and np.array_equal(again.features, fresh.features)
    assert [p.name for p in tmp_path.iterdir()] == [entry.name]  # no temporary file left


def test_an_entry_for_another_key_is_not_used(tmp_path):
    # A valid entry, made for other images, under this key's file name.
    ex = CountingExtractor()
    images, others = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    reference_features(ex, images, CPU, tmp_path)
    entry = entry_of(tmp_path, ex)
    other_dir = tmp_path / "other"
    reference_features(ex, others, CPU, other_dir)
    entry.write_bytes(entry_of(other_dir, ex).read_bytes())
    with pytest.warns(FeatureCacheWarning, match=r"it was made for another cache key; recomputing"):
        feats, cached = reference_features(ex, images, CPU, tmp_path)
    assert not cached and np.array_equal(feats.features, extract(ex, images, CPU).features)
    assert reference_features(ex, images, CPU, tmp_path)[1]


def test_a_directory_in_the_entrys_place_is_left_alone(tmp_path):
    # Not read, not removed; the features are computed all the same.
    ex = CountingExtractor()
    images = torch.rand(4, 1, 8, 8)
    path = tmp_path / f"{ex.name}-{features.cache_key(ex, images)[:32]}.npz"
    (path / "inside").mkdir(parents=True)
    with pytest.warns(FeatureCacheWarning) as warned:
        feats, cached = reference_features(ex, images, CPU, tmp_path)
    assert [str(w.message) for w in warned] == [
        f"feature cache entry {path}: it is a directory; the features are computed, not cached"]
    assert not cached and np.array_equal(feats.features, extract(ex, images, CPU).features)
    assert (path / "inside").is_dir()


def test_a_dangling_link_in_the_entrys_place_is_replaced(tmp_path):
    ex = CountingExtractor()
    images = torch.rand(4, 1, 8, 8)
    path = tmp_path / f"{ex.name}-{features.cache_key(ex, images)[:32]}.npz"
    path.symlink_to(tmp_path / "nowhere")
    with pytest.warns(FeatureCacheWarning, match=r"it is not a regular file \(a link to nothing, a pipe\); "
                                                 r"recomputing the features and replacing it"):
        reference_features(ex, images, CPU, tmp_path)
    assert not path.is_symlink() and reference_features(ex, images, CPU, tmp_path)[1]
    assert not (tmp_path / "nowhere").exists()


def test_an_entry_that_cannot_be_written_is_warned_about(tmp_path, monkeypatch):
    ex = CountingExtractor()
    images = torch.rand(4, 1, 8, 8)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.warns(FeatureCacheWarning, match=r"cannot write it \(No space left on device\); the features are "
                                                 r"computed, not cached"):
        feats, cached = reference_features(ex, images, CPU, tmp_path)
    assert not cached and np.array_equal(feats.features, extract(ex, images, CPU).features)
    assert list(tmp_path.iterdir()) == []  # no temporary file left


def test_an_entry_is_never_unpickled(tmp_path, monkeypatch):
    calls = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    ex = CountingExtractor()
    images = torch.rand(4, 1, 8, 8)
    reference_features(ex, images, CPU, tmp_path)
    assert reference_features(ex, images, CPU, tmp_path)[1]
    assert calls == [{"allow_pickle": False}]


def test_cache_dir_follows_genbench_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(features.CACHE_ENV, raising=False)
    assert features.default_cache_dir(tmp_path / "runs") == tmp_path / "runs" / "cache"
    monkeypatch.setenv(features.CACHE_ENV, str(tmp_path / "shared"))
    assert features.default_cache_dir(tmp_path / "runs") == tmp_path / "shared"
