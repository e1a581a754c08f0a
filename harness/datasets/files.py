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


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: (N, 3, 32, 32) uint8 images and (N,) labels."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data, labels = batch[b"data"], batch[b"labels"]
    return np.asarray(data, np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels, np.int64)


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
