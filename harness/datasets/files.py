"""The real datasets of the source papers, read from their original files: MNIST and
Fashion-MNIST (gzip IDX), CIFAR-10 (python pickle batches).

Where the files are looked for, in order:

1. the ``root`` dataset option (a suite entry's ``dataset_options``) or ``--data-dir``;
2. ``$GENBENCH_DATA``;
3. ``./data``.

In each, the files may lie directly in the directory or in torchvision's layout
(``MNIST/raw/``, ``FashionMNIST/raw/``, ``cifar-10-batches-py/``), so a torchvision
download is found as it is. Nothing is downloaded unless ``download = true`` is given
(through torchvision, which needs a network); offline without the files, the error
names each file expected and where to put it.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.api import Dataset, TensorSplit
from harness.errors import UsageError

DATA_ENV = "GENBENCH_DATA"
VAL_SIZE = 5000  # held out of the official training set, seeded


@dataclass(frozen=True)
class Source:
    name: str
    torchvision_class: str
    subdir: str  # torchvision's folder under the root
    files: tuple[str, ...]
    num_classes: int = 10
    native_resolution: int = 28
    channels: int = 1


SOURCES = {
    s.name: s for s in (
        Source("mnist", "MNIST", "MNIST/raw", ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")),
        Source("fashion-mnist", "FashionMNIST", "FashionMNIST/raw",
               ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")),
        Source("cifar10", "CIFAR10", "cifar-10-batches-py",
               (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"), native_resolution=32, channels=3),
    )
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed or not): the magic number's type and rank, then the
    big-endian dimensions, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise UsageError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    dims = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    expected = int(np.prod(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).copy()  # writable, for torch
    if body.size != expected:
        raise UsageError(f"{path}: IDX header says {dims} ({expected} bytes), file has {body.size}")
    return body.reshape(dims)


# The only globals a CIFAR-10 python batch refers to: numpy's array reconstruction (the
# module is numpy.core before numpy 2, numpy._core since). Everything else in the file is
# a dict, lists, bytes and ints, which unpickle without a global.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
CIFAR_PIXELS = 3 * 32 * 32


class _RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a global a CIFAR-10 batch never contains."""


class CifarUnpickler(pickle.Unpickler):
    """An unpickler that can build a CIFAR-10 batch and nothing else: any global outside
    ``CIFAR_GLOBALS`` (``os.system``, ``builtins.exec``, any class) is refused, so a
    crafted batch cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return CIFAR_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f"{module}.{name}") from None


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: (N, 3, 32, 32) uint8 images and (N,) labels. A file
    that asks for anything but numpy arrays, or is damaged, is a UsageError naming it."""
    try:
        with open(path, "rb") as f:
            batch = CifarUnpickler(f, encoding="bytes").load()
    except _RefusedGlobal as exc:
        raise UsageError(f"{path}: refused to unpickle the global {exc}: a CIFAR-10 python batch holds only "
                         "numpy arrays, lists, bytes and ints (not loaded; replace the file with the "
                         "official one)") from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            OverflowError, MemoryError) as exc:
        raise UsageError(f"{path}: not a readable CIFAR-10 python batch, damaged or truncated "
                         f"({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return _check_cifar_batch(path, batch)


def _check_cifar_batch(path: Path, batch: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, dict):
        raise UsageError(f"{path}: not a CIFAR-10 python batch: holds a {type(batch).__name__}, "
                         "expected a dict with b'data' and b'labels'")
    missing = [repr(k) for k in (b"data", b"labels") if k not in batch]
    if missing:
        raise UsageError(f"{path}: not a CIFAR-10 python batch: no {' or '.join(missing)} key "
                         f"(keys: {', '.join(repr(k) for k in batch) or 'none'})")
    try:
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path}: b'data' or b'labels' is not an array ({exc})") from None
    if data.ndim != 2 or data.shape[1] != CIFAR_PIXELS:
        raise UsageError(f"{path}: b'data' has shape {data.shape}, expected (N, {CIFAR_PIXELS}): "
                         "N images of 3x32x32 bytes")
    bytes_like = data.dtype.kind in "iu" and (data.size == 0 or (data.min() >= 0 and data.max() <= 255))
    if data.dtype != np.uint8 and not bytes_like:
        raise UsageError(f"{path}: b'data' holds {data.dtype} values, expected bytes (uint8, 0..255)")
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise UsageError(f"{path}: b'labels' must be a list of integers, got {labels.dtype} "
                         f"of shape {labels.shape}")
    if len(labels) != len(data):
        raise UsageError(f"{path}: {len(labels)} labels for {len(data)} images")
    if labels.size and (labels.min() < 0 or labels.max() >= 10):
        raise UsageError(f"{path}: labels outside 0..9 (from {labels.min()} to {labels.max()})")
    return data.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32), labels.astype(np.int64)


def candidate_roots(root: str | os.PathLike | None) -> list[Path]:
    roots = [Path(root)] if root else []
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]))
    roots.append(Path("data"))
    return roots


def locate(source: Source, root: str | os.PathLike | None) -> Path:
    """The directory holding all of ``source``'s files, or a UsageError naming them."""
    tried = []
    for r in candidate_roots(root):
        for d in (r, r / source.subdir):
            tried.append(d)
            if all((d / f).is_file() or (d / f.removesuffix(".gz")).is_file() for f in source.files):
                return d
    raise UsageError(
        f"{source.name}: files not found. Expected {', '.join(source.files)} in one of: "
        f"{', '.join(str(d) for d in tried)}. Put them in a directory and pass it as the dataset option "
        f"root (or --data-dir, or {DATA_ENV}), or set the dataset option download = true on a machine "
        "with a network (torchvision downloads them into the root)")


def _file(directory: Path, name: str) -> Path:
    plain = directory / name.removesuffix(".gz")
    return directory / name if (directory / name).is_file() else plain


def fetch(source: Source, root: str | os.PathLike | None) -> None:
    import torchvision.datasets as tvd

    target = candidate_roots(root)[0]
    for train in (True, False):
        getattr(tvd, source.torchvision_class)(str(target), train=train, download=True)


def load_arrays(source: Source, directory: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels), images (N, C, H, W) uint8."""
    if source.name == "cifar10":
        train = [read_cifar_batch(directory / f) for f in source.files[:-1]]
        test_x, test_y = read_cifar_batch(directory / source.files[-1])
        return np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), test_x, test_y
    tx, ty, vx, vy = (read_idx(_file(directory, f)) for f in source.files)
    return tx[:, None], ty.astype(np.int64), vx[:, None], vy.astype(np.int64)


def _to_tensor(images: np.ndarray, resolution: int, channels: int) -> torch.Tensor:
    x = torch.from_numpy(images).float() / 127.5 - 1
    if channels == 1 and x.shape[1] == 3:
        x = x.mean(dim=1, keepdim=True)
    if x.shape[-1] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                          antialias=resolution < x.shape[-1])
    return x


def build(name: str, seed: int = 0, resolution: int | None = None, channels: int | None = None,
          root: str = "", download: bool = False) -> Dataset:
    """The official test set as test (in seeded random order), 5,000 seeded images of the
    official training set (a sixth of it, if that is fewer) as validation, the rest as
    train. ``resolution`` other than the native one resizes bilinearly (antialiased when
    shrinking); ``channels = 1`` turns CIFAR-10 gray (channel mean)."""
    source = SOURCES[name]
    resolution = resolution or source.native_resolution
    channels = channels or source.channels
    if channels not in (1, source.channels):
        raise UsageError(f"{name}: channels must be {source.channels} (native) or 1, got {channels}")
    try:
        directory = locate(source, root)
    except UsageError:
        if not download:
            raise
        fetch(source, root)
        directory = locate(source, root)
    train_x, train_y, test_x, test_y = load_arrays(source, directory)
    g = torch.Generator().manual_seed(seed)
    order, test_order = torch.randperm(len(train_y), generator=g), torch.randperm(len(test_y), generator=g)
    images, labels = _to_tensor(train_x, resolution, channels), torch.from_numpy(train_y)
    n_val = min(VAL_SIZE, len(train_y) // 6)
    val_idx, train_idx = order[:n_val], order[n_val:]
    test_images = _to_tensor(test_x, resolution, channels)[test_order]
    return Dataset(
        name=name, resolution=resolution, channels=channels,
        train=TensorSplit(images[train_idx], labels=labels[train_idx]),
        val=TensorSplit(images[val_idx], labels=labels[val_idx]),
        test=TensorSplit(test_images, labels=torch.from_numpy(test_y)[test_order]),
        num_classes=source.num_classes,
        options={"resolution": resolution, "channels": channels, "split_seed": seed, "root": str(directory)},
        description=f"{name} from its original files in {directory}",
    )
