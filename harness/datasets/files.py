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

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from harness.api import Dataset, TensorSplit
from harness.datasets.cifar import read_cifar_batch
from harness.datasets.idx import IDX_IMAGES, IDX_LABELS, check_labels, read_idx
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


def candidate_roots(root: str | os.PathLike | None) -> list[Path]:
    roots = [Path(root)] if root else []
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]))
    roots.append(Path("data"))
    return roots


def locate(source: Source, root: str | os.PathLike | None) -> Path:
    """The directory holding all of ``source``'s files, or a UsageError naming them. A
    name that is there but not a regular file (a directory, a pipe) is named as such."""
    tried = []
    for r in candidate_roots(root):
        for d in (r, r / source.subdir):
            tried.append(d)
            if all((d / f).is_file() or (d / f.removesuffix(".gz")).is_file() for f in source.files):
                return d
            # Named here, not passed over for a later directory: the user meant this one.
            for f in source.files:
                names = dict.fromkeys((d / f, d / f.removesuffix(".gz")))
                odd = [p for p in names if p.exists()] if not any(p.is_file() for p in names) else []
                if odd:
                    what = "a directory" if odd[0].is_dir() else "not a regular file"
                    raise UsageError(f"{odd[0]}: is {what}, expected the {source.name} file {f} there")
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
    """(train images, train labels, test images, test labels), images (N, C, H, W) uint8,
    every file checked; each split holds at least one image and one label per image."""
    if source.name == "cifar10":
        train = [read_cifar_batch(directory / f) for f in source.files[:-1]]
        test_x, test_y = read_cifar_batch(directory / source.files[-1])
        return np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), test_x, test_y
    paths = [_file(directory, f) for f in source.files]
    arrays = [read_idx(p, IDX_IMAGES if i % 2 == 0 else IDX_LABELS) for i, p in enumerate(paths)]
    for i in (0, 2):
        (images_path, labels_path), (images, labels) = paths[i:i + 2], arrays[i:i + 2]
        if len(labels) != len(images):
            raise UsageError(f"{labels_path}: {len(labels):,} labels for the {len(images):,} images of "
                             f"{images_path}, expected one label per image (are both files of the same set, "
                             "and whole?)")
        check_labels(labels_path, labels, source.num_classes)
    tx, ty, vx, vy = arrays
    return tx[:, None], ty.astype(np.int64), vx[:, None], vy.astype(np.int64)


def _to_tensor(images: np.ndarray, resolution: int, channels: int) -> torch.Tensor:
    x = torch.from_numpy(images).float() / 127.5 - 1
    if channels == 1 and x.shape[1] == 3:
        x = x.mean(dim=1, keepdim=True)
    if x.shape[-2:] != (resolution, resolution):
        # Antialiased along any side that shrinks (it is plain bilinear along one that grows).
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                          antialias=resolution < max(x.shape[-2:]))
    return x


MAX_RESOLUTION = 512  # every image is held as float32 at this size: 60,000 x 512² x 4 bytes is 63 GB


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_options(name: str, seed: object, resolution: object, channels: object, root: object,
                   download: object) -> None:
    """The dataset options' types and ranges, each named in the error."""
    if not _is_int(seed) or not 0 <= seed < 2**63:
        raise UsageError(f"{name}: dataset option split_seed must be an integer 0..2^63-1, got {seed!r}")
    if resolution is not None and (not _is_int(resolution) or not 0 < resolution <= MAX_RESOLUTION):
        raise UsageError(f"{name}: dataset option resolution must be an integer 1..{MAX_RESOLUTION}, "
                         f"got {resolution!r}")
    if channels is not None and not _is_int(channels):
        raise UsageError(f"{name}: dataset option channels must be an integer (1 or native), got {channels!r}")
    if not isinstance(root, (str, os.PathLike)):
        raise UsageError(f"{name}: dataset option root must be a path (a string), got {root!r}")
    if not isinstance(download, bool):
        raise UsageError(f"{name}: dataset option download must be true or false, got {download!r}")


def build(name: str, seed: int = 0, resolution: int | None = None, channels: int | None = None,
          root: str = "", download: bool = False) -> Dataset:
    """The official test set as test (in seeded random order), 5,000 seeded images of the
    official training set (a sixth of it, if that is fewer) as validation, the rest as
    train. ``resolution`` other than the native one resizes bilinearly (antialiased when
    shrinking); ``channels = 1`` turns CIFAR-10 gray (channel mean)."""
    source = SOURCES[name]
    _check_options(name, seed, resolution, channels, root, download)
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
