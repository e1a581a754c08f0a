"""Features of images in an extractor's space: 8-bit quantization, batched extraction on
the device, and the on-disk cache of real-data features keyed by content.

Every image is quantized to uint8 first, exactly as saving it as PNG and reading it back
would, so a generator's float output and a real image stored as PNG are measured alike,
and so the numbers agree with pytorch-fid run on saved PNGs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from harness.api import FeatureExtractor
from harness.atomic import atomic_path

CACHE_ENV = "GENBENCH_CACHE"
# Bumped whenever quantization or the cache's file layout changes.
PIPELINE_VERSION = "uint8-v1"


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


def reference_features(extractor: FeatureExtractor, images: torch.Tensor, device: torch.device,
                       cache_dir: Path | None) -> tuple[Features, bool]:
    """The real images' features, from the cache when their key is there. Returns the
    features and whether they came from the cache."""
    if cache_dir is None:
        return extract(extractor, images, device), False
    path = cache_dir / f"{extractor.name}-{cache_key(extractor, images)[:32]}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                classes = z["classes"] if "classes" in z.files else None
                return Features(z["features"], classes), True
        except (OSError, ValueError, KeyError):
            pass  # an unreadable entry is recomputed and replaced below
    feats = extract(extractor, images, device)
    arrays = {"features": feats.features} | ({} if feats.classes is None else {"classes": feats.classes})
    with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a concurrent reader never sees half a file
        np.savez(f, **arrays)
    return feats, False
