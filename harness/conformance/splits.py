"""Reading a dataset split once for the dataset checks: a digest of each item, the range
of the image values, and the conditions and labels, of a bounded number of items."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch

from harness.api import Batch, DataSplit

# Items per split that are read: half from the start and half from the end, where an
# off-by-one in the split boundaries shows.
SCANNED = 512
CHUNK = 64  # items fetched at a time, so that large images stay within memory


@dataclass
class Scan:
    """What the checks need of up to SCANNED items of one split, read once."""

    indices: list[int]
    images: list[bytes] = field(default_factory=list)  # a digest per item
    items: list[bytes] = field(default_factory=list)  # of the image, conditions and label together
    batches: list[Batch] = field(default_factory=list)  # the chunks read, without their images
    low: float = float("inf")
    high: float = float("-inf")
    nonfinite: int | None = None  # the first item with NaN or inf


def _digest(*tensors: torch.Tensor | None) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for t in tensors:
        if t is not None:
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.digest()


def _item(t: torch.Tensor | None, i: int) -> torch.Tensor | None:
    return None if t is None else t[i]


def _scanned_indices(n: int) -> list[int]:
    if n <= SCANNED:
        return list(range(n))
    return [*range(SCANNED // 2), *range(n - SCANNED // 2, n)]


def read_split(split: DataSplit) -> Scan:
    """Up to SCANNED items of ``split``, read in chunks."""
    found = Scan(_scanned_indices(len(split)))
    for start in range(0, len(found.indices), CHUNK):
        chunk = found.indices[start:start + CHUNK]
        batch = split.get(torch.tensor(chunk, dtype=torch.int64))
        images = batch.images
        for i in range(len(chunk)):
            found.images.append(_digest(images[i]))
            found.items.append(_digest(images[i], _item(batch.conditions, i), _item(batch.labels, i)))
        values = images.detach().float()
        finite = torch.isfinite(values)
        if found.nonfinite is None and not finite.all():
            found.nonfinite = chunk[int((~finite.flatten(1).all(dim=1)).nonzero()[0])]
        if finite.any():
            found.low = min(found.low, values[finite].min().item())
            found.high = max(found.high, values[finite].max().item())
        found.batches.append(Batch(images[:0], batch.conditions, batch.labels))
    return found
