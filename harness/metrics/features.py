"""Features of images in an extractor's space: 8-bit quantization, batched extraction on
the device, and the on-disk cache of real-data features keyed by content.

Every image is quantized to uint8 first, exactly as saving it as PNG and reading it back
would, so a generator's float output and a real image stored as PNG are measured alike,
and so the numbers agree with pytorch-fid run on saved PNGs.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from harness.api import FeatureExtractor
from harness.atomic import atomic_path

CACHE_ENV = "GENBENCH_CACHE"
# Bumped whenever quantization changes. The entry layout is checked on read instead: an
# entry without its key and checksum (the first layout) is unverified, and replaced.
PIPELINE_VERSION = "uint8-v1"
# Besides its arrays, every cache entry holds the full key it was made for and the SHA-256
# of its payload; neither is ever a payload array.
KEY_FIELD, HASH_FIELD = "cache_key", "payload_sha256"
PAYLOAD_FIELDS = ("features", "classes")


class FeatureCacheWarning(UserWarning):
    """A reference-feature cache entry was unreadable, unverified or altered (and is
    replaced), or could not be written; the features are computed either way."""


@dataclass
class Features:
    """An extractor's output on a set of images: (N, D) float32 features and, for a
    classifier, the (N,) predicted classes."""

    features: np.ndarray
    classes: np.ndarray | None = None

    def __len__(self) -> int:
        return self.features.shape[0]


def quantize(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float images -> uint8, as ``round((x + 1) / 2 * 255)`` after clamping:
    what writing them as an 8-bit PNG stores."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.inference_mode()
def extract(extractor: FeatureExtractor, images: torch.Tensor, device: torch.device,
            batch_size: int | None = None) -> Features:
    """Features of [-1, 1] images, in batches on ``device``; the preprocessing runs as
    tensor operations there (no PIL round trip)."""
    batch_size = batch_size or extractor.batch_size
    feats, classes = [], []
    for start in range(0, images.shape[0], batch_size):
        chunk = quantize(images[start:start + batch_size].to(device, non_blocking=True))
        f, c = extractor.extract(chunk.float().div_(255))
        feats.append(f.float().cpu())
        if c is not None:
            classes.append(c.cpu())
    return Features(torch.cat(feats).numpy(), torch.cat(classes).numpy() if classes else None)


def content_hash(images: torch.Tensor) -> str:
    """SHA-256 of the quantized images and their shape: the identity of a reference set,
    independent of what the dataset is called."""
    q = quantize(images).contiguous()
    h = hashlib.sha256(repr(tuple(q.shape)).encode())
    h.update(q.numpy().tobytes())
    return h.hexdigest()


def default_cache_dir(out_root: Path) -> Path:
    """``$GENBENCH_CACHE`` if set, else ``<run root>/cache``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else out_root / "cache"


def cache_key(extractor: FeatureExtractor, images: torch.Tensor) -> str:
    parts = [PIPELINE_VERSION, extractor.name, extractor.fingerprint(), content_hash(images)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def payload_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of a cache entry's payload: each array's name, dtype, shape and bytes, in
    name order, so a changed value, type, shape or a missing array all change it."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _verified(path: Path, key: str, n: int) -> tuple[Features | None, str]:
    """The entry's features if it is whole and made for ``key`` (``n`` items); else None
    and what is wrong with it."""
    try:
        # Opened here, not by np.load, which leaves its own file open when the zip is bad.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # never pickle: the entry is data
            names = set(z.files)
            if KEY_FIELD not in names or HASH_FIELD not in names:
                return None, "it has no key and checksum (written by an older genbench), so it is unverified"
            stored_key = z[KEY_FIELD]
            if stored_key.shape != () or stored_key.dtype.kind != "U" or str(stored_key) != key:
                return None, "it was made for another cache key"
            unexpected = names - {KEY_FIELD, HASH_FIELD, *PAYLOAD_FIELDS}
            if unexpected or "features" not in names:
                return None, f"its arrays are {sorted(names)}, expected features (and classes)"
            arrays = {name: z[name] for name in PAYLOAD_FIELDS if name in names}
            stored_hash = z[HASH_FIELD]
    except Exception as exc:  # whatever a damaged file raises (BadZipFile, EOFError, ...), it is recomputed
        return None, f"it is unreadable ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    if stored_hash.shape != () or stored_hash.dtype.kind != "U" or str(stored_hash) != payload_sha256(arrays):
        return None, "its arrays do not match their SHA-256 (altered or damaged)"
    features, classes = arrays["features"], arrays.get("classes")
    if features.ndim != 2 or len(features) != n or features.dtype != np.float32:
        return None, f"it holds {features.dtype} features of shape {features.shape}, expected float32 ({n}, D)"
    if classes is not None and classes.shape != (n,):  # their dtype is the extractor's: covered by the checksum
        return None, f"it holds classes of shape {classes.shape}, expected ({n},)"
    return Features(features, classes), ""


def _warn(message: str) -> None:
    warnings.warn(message, FeatureCacheWarning, stacklevel=3)


def reference_features(extractor: FeatureExtractor, images: torch.Tensor, device: torch.device,
                       cache_dir: Path | None) -> tuple[Features, bool]:
    """The real images' features, from the cache when their key is there and the entry
    verifies (its stored key is the full key, its payload matches its SHA-256). Returns
    the features and whether they came from the cache. An entry that does not verify is
    recomputed and replaced atomically, with a FeatureCacheWarning naming it and what was
    wrong; an entry that cannot be written is warned about, and the features returned."""
    if cache_dir is None:
        return extract(extractor, images, device), False
    key = cache_key(extractor, images)
    path = Path(cache_dir) / f"{extractor.name}-{key[:32]}.npz"
    if path.is_dir() and not path.is_symlink():  # not ours to remove
        _warn(f"feature cache entry {path}: it is a directory; the features are computed, not cached")
        return extract(extractor, images, device), False
    if os.path.lexists(path):
        if path.is_file():
            cached, problem = _verified(path, key, images.shape[0])
            if cached is not None:
                return cached, True
        else:
            problem = "it is not a regular file (a link to nothing, a pipe)"
        _warn(f"feature cache entry {path}: {problem}; recomputing the features and replacing it")
    feats = extract(extractor, images, device)
    arrays = {"features": feats.features} | ({} if feats.classes is None else {"classes": feats.classes})
    entry = arrays | {KEY_FIELD: np.array(key), HASH_FIELD: np.array(payload_sha256(arrays))}
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a concurrent reader never sees half a file
            np.savez(f, **entry)
    except OSError as exc:
        _warn(f"feature cache entry {path}: cannot write it ({exc.strerror or exc}); the features are "
              "computed, not cached")
    return feats, False
