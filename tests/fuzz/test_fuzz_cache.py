"""Fuzzing the reference-feature cache (issue 14): damaged entries (truncated, bytes
flipped, zero bytes, random bytes, a valid .npz with altered values, missing or extra
arrays, key and checksum of the wrong type, an entry of another key, the first layout,
a directory or a dangling link in the entry's place), read through
``reference_features`` itself. The contract: no exception escapes; the features equal a
fresh extraction; an entry served from the cache holds exactly the arrays it was written
with; any other is warned about (FeatureCacheWarning, naming it) and replaced, so that
the next read verifies without a warning. A directory in the entry's place is warned
about and left alone."""

from __future__ import annotations

import io
import os
import shutil
import warnings

import numpy as np
import torch
from contract import TALLY
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import FeatureExtractor
from harness.metrics import features
from harness.metrics.features import FeatureCacheWarning, extract, reference_features

TARGET = "feature cache"
CPU = torch.device("cpu")


class Classifier(FeatureExtractor):
    """Per-channel statistics as features, and a class per image: both arrays an entry holds."""

    name = "fuzzclass"
    num_classes = 10

    def fingerprint(self) -> str:
        return "fuzzclass-v1"

    def extract(self, images):
        feats = torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3)), images.amax(dim=(2, 3))], dim=1)
        return feats, (feats[:, 0] * 10).long().clamp(0, 9)


EXTRACTOR = Classifier()
IMAGES = torch.linspace(-1, 1, 12 * 3 * 8 * 8).reshape(12, 3, 8, 8).sin()
OTHER_IMAGES = IMAGES.flip(0)


def npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def entry_arrays(raw: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(raw)) as z:
        return {name: z[name] for name in z.files}


def _flips(draw: st.DrawFn, raw: bytes) -> bytes:
    out = bytearray(raw)
    for pos in draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8, unique=True)):
        out[pos] ^= 1 << draw(st.integers(0, 7))
    return bytes(out)


def _altered(draw: st.DrawFn, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One value of the features or classes changed (its checksum left as it was)."""
    name = draw(st.sampled_from(["features", "classes"]))
    changed = arrays[name].copy()
    i = draw(st.integers(0, changed.size - 1))
    if name == "features":
        value = draw(st.floats(width=32, allow_nan=False).filter(lambda v: v != changed.flat[i]))
    else:
        value = draw(st.integers(-(2**31), 2**31 - 1).filter(lambda v: v != changed.flat[i]))
    changed.flat[i] = value
    return arrays | {name: changed}


KINDS = ("truncate", "flip", "zero-bytes", "random", "altered", "drop-array", "extra-array", "field-type",
         "other-key", "old-format", "directory", "dangling-link")


@st.composite
def damaged_entry(draw: st.DrawFn, valid: bytes, other: bytes) -> tuple[str, bytes | None]:
    """(what was done, the entry's new content; None: the kind makes the path itself)."""
    kind = draw(st.sampled_from(KINDS))
    arrays = entry_arrays(valid)
    if kind == "truncate":
        return kind, valid[:draw(st.integers(0, len(valid) - 1))]
    if kind == "flip":
        return kind, _flips(draw, valid)
    if kind == "zero-bytes":
        return kind, b""
    if kind == "random":
        return kind, draw(st.binary(max_size=400))
    if kind == "altered":
        return kind, npz(_altered(draw, arrays))
    if kind == "drop-array":
        drop = draw(st.sampled_from(sorted(arrays)))
        return kind, npz({k: v for k, v in arrays.items() if k != drop})
    if kind == "extra-array":
        extra = draw(st.sampled_from(["extra", "features_2", "arr_0"]))
        return kind, npz(arrays | {extra: np.arange(draw(st.integers(0, 5)))})
    if kind == "field-type":  # the key or checksum stored as bytes, a list, a number
        field = draw(st.sampled_from([features.KEY_FIELD, features.HASH_FIELD]))
        text = str(arrays[field])
        value = draw(st.sampled_from([np.array(text.encode()), np.array([text]), np.array([text, text]),
                                      np.array(0), np.frombuffer(text.encode(), np.uint8)]))
        return kind, npz(arrays | {field: value})
    if kind == "other-key":
        return kind, other
    if kind == "old-format":
        return kind, npz({k: arrays[k] for k in ("features", "classes")})
    return kind, None


def test_damaged_cache_entries(fuzz_settings, tmp_path_factory):
    template = tmp_path_factory.mktemp("cache-template")
    fresh, _ = reference_features(EXTRACTOR, IMAGES, CPU, template)
    (entry,) = template.glob("*.npz")
    valid = entry.read_bytes()
    other_dir = tmp_path_factory.mktemp("cache-other")
    reference_features(EXTRACTOR, OTHER_IMAGES, CPU, other_dir)
    (other,) = other_dir.glob("*.npz")
    assert np.array_equal(fresh.features, extract(EXTRACTOR, IMAGES, CPU).features)

    @settings(parent=fuzz_settings)
    @given(damaged_entry(valid, other.read_bytes()))
    def one(damage):
        kind, content = damage
        TALLY[f"{TARGET}: inputs"] += 1
        cache = tmp_path_factory.mktemp("cache")
        path = cache / entry.name
        if kind == "directory":
            path.mkdir()
        elif kind == "dangling-link":
            os.symlink(cache / "nowhere.npz", path)
        else:
            path.write_bytes(content)
        problem = _problem(cache, path, kind)
        if problem:
            TALLY[f"{TARGET}: {problem.split(':')[0]}"] += 1
        assert problem is None, problem
        shutil.rmtree(cache)

    one()


def _problem(cache, path, kind: str) -> str | None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            feats, cached = reference_features(EXTRACTOR, IMAGES, CPU, cache)
        except Exception as exc:  # what the contract forbids
            return f"exception escaped: {kind}: {type(exc).__name__}: {exc}"
    fresh = extract(EXTRACTOR, IMAGES, CPU)
    if not (np.array_equal(feats.features, fresh.features) and feats.features.dtype == fresh.features.dtype
            and np.array_equal(feats.classes, fresh.classes)):
        return f"wrong result: {kind}: features differ from a fresh extraction (cached={cached})"
    warned = [str(w.message) for w in caught if issubclass(w.category, FeatureCacheWarning)]
    others = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, FeatureCacheWarning)]
    if others:
        return f"other warning: {kind}: {others}"
    if cached:  # served from the cache: the damage left the entry whole (a flipped timestamp)
        return f"warned for a good entry: {kind}: {warned}" if warned else None
    if len(warned) != 1 or not warned[0].startswith(f"feature cache entry {path}: "):
        return f"warning: {kind}: expected one naming the entry, got {warned}"
    if kind == "directory":  # left alone: genbench removes no directory
        return None if path.is_dir() and warned[0].endswith("it is a directory; the features are computed, "
                                                           "not cached") else f"directory: {warned}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again, cached = reference_features(EXTRACTOR, IMAGES, CPU, cache)
    if not cached or caught or not path.is_file() or path.is_symlink() or not np.array_equal(again.features,
                                                                                              fresh.features):
        return f"not replaced: {kind}: the next read: cached={cached}, warnings {[str(w.message) for w in caught]}"
    if [p.name for p in cache.iterdir()] != [path.name] and kind != "dangling-link":
        return f"left over: {kind}: {sorted(p.name for p in cache.iterdir())}"
    return None
