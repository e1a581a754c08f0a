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

import contextlib
import gzip
import io
import math
import os
import pickle
import struct
import zlib
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


# What each IDX file holds: its shape after the item count (images 28x28, labels one
# number each). Every file is unsigned bytes (type code 0x08).
IDX_IMAGES, IDX_LABELS = (28, 28), ()
IDX_UBYTE = 0x08
IDX_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int", 0x0D: "float",
             0x0E: "double"}
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def _idx_what(item_shape: tuple[int, ...]) -> str:
    return f"N images of {'x'.join(map(str, item_shape))}" if item_shape else "N labels"


def read_idx(path: Path, item_shape: tuple[int, ...] = IDX_IMAGES) -> np.ndarray:
    """An IDX file (gzip-compressed or not, whatever its name says): the magic number's
    type and rank, then the big-endian dimensions, then the data; checked against
    ``item_shape`` (each item's shape: 28x28 for images, () for labels). Anything else, a
    damaged gzip stream or data of another size than the header says is a UsageError
    naming the file. The header is checked before the data is read, and no more data is
    read than the header promises (plus one byte, to see that nothing follows), so a
    header claiming terabytes allocates nothing."""
    rank = 1 + len(item_shape)
    expected_magic = f"0x0000{IDX_UBYTE:02x}{rank:02x}"
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            with (gzip.GzipFile(fileobj=raw, mode="rb") if compressed else contextlib.nullcontext(raw)) as f:
                head = _read_up_to(f, 4)
                if len(head) < 4:
                    raise UsageError(f"{path}: {_empty_or_short(head, compressed)}: no IDX header (expected the magic "
                                     f"number {expected_magic}, then the dimensions)")
                zero, dtype_code, file_rank = struct.unpack(">HBB", head)
                if zero != 0:
                    raise UsageError(f"{path}: not an IDX file{'' if compressed else ' (nor gzip-compressed)'}: "
                                     f"magic number 0x{head.hex()}, expected {expected_magic}")
                if dtype_code != IDX_UBYTE:
                    name = IDX_TYPES.get(dtype_code, "not an IDX type")
                    raise UsageError(f"{path}: IDX type code 0x{dtype_code:02x} ({name}), expected 0x08 "
                                     "(unsigned byte)")
                if file_rank != rank:
                    raise UsageError(f"{path}: IDX rank {file_rank}, expected {rank} ({_idx_what(item_shape)})")
                dim_bytes = _read_up_to(f, 4 * rank)
                if len(dim_bytes) < 4 * rank:
                    raise UsageError(f"{path}: truncated IDX header: {len(dim_bytes)} of the {4 * rank} bytes "
                                     f"of its {rank} dimensions")
                dims = struct.unpack(f">{rank}I", dim_bytes)
                if dims[1:] != item_shape:
                    shown = ", ".join(["N", *map(str, item_shape)])
                    raise UsageError(f"{path}: IDX dimensions {dims}, expected ({shown}): {_idx_what(item_shape)}")
                if dims[0] == 0:
                    raise UsageError(f"{path}: the IDX header says 0 items, expected at least 1")
                expected = math.prod(dims)
                if not compressed:
                    available = os.fstat(raw.fileno()).st_size - 4 - 4 * rank
                    if available != expected:
                        raise UsageError(_size_message(path, dims, expected, f"the file holds {available:,}"))
                data = _read_up_to(f, expected + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        kind = "zlib.error" if isinstance(exc, zlib.error) else type(exc).__name__
        raise UsageError(f"{path}: not a readable gzip file, damaged or truncated ({kind}: {_short(exc)})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) != expected:
        held = "more" if len(data) > expected else f"{len(data):,}"
        raise UsageError(_size_message(path, dims, expected, f"the file holds {held}"))
    return np.frombuffer(data, dtype=np.uint8).reshape(dims).copy()  # writable, for torch


def _read_up_to(f: Any, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end of the file; read in chunks, so memory
    follows what the file holds, not what ``n`` says."""
    chunks, left = [], n
    while left > 0:
        chunk = f.read(min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _empty_or_short(head: bytes, compressed: bool) -> str:
    unpacked = " once decompressed" if compressed else ""
    return f"empty (0 bytes{unpacked})" if not head else f"truncated to {len(head)} byte(s){unpacked}"


def _size_message(path: Path, dims: tuple[int, ...], expected: int, held: str) -> str:
    return (f"{path}: IDX header says {dims} ({expected:,} bytes of data), {held}: truncated, "
            "damaged, or the header is wrong")


def check_labels(path: Path, labels: np.ndarray, classes: int = 10) -> None:
    if labels.size and labels.max() >= classes:
        raise UsageError(f"{path}: label values from {labels.min()} to {labels.max()}, expected 0..{classes - 1}")


def _latin1(text: object, encoding: object = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 pickles bytes at protocol 2 (``encode(str, 'latin1')``)
    and for nothing else: a batch re-pickled by Python 3 at the official files' protocol."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only as encode(str, 'latin1'), got "
                                     f"encode({type(text).__name__}, {_short(repr(encoding), 40)})")
    return text.encode("latin1")


def _empty_bytes(*args: object) -> bytes:
    """``bytes()``, as Python 3 pickles an empty bytes at protocol 2, and nothing else
    (``bytes(10**12)`` would allocate a terabyte)."""
    if args:
        raise pickle.UnpicklingError(f"bytes is allowed only as bytes(), got {len(args)} argument(s)")
    return b""


# The only globals a CIFAR-10 python batch refers to: numpy's array reconstruction (the
# module is numpy.core before numpy 2, numpy._core since), and bytes as Python 3 writes
# them at protocol 2 (non-empty through _codecs.encode, empty through bytes()). Everything
# else in the file is a dict, lists, bytes and ints, which unpickle without a global.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]


def _reconstruct(subtype: object, shape: object, dtype: object) -> np.ndarray:
    """numpy's ``_reconstruct`` as a pickled array calls it, ``(ndarray, (0,), 'b')``: an
    empty array that ``__setstate__`` then fills from the file's own bytes (checking their
    size). Any other call is refused: ``_reconstruct(ndarray, (10**10, 3072), 'b')`` would
    allocate what the file asks for, not what it holds."""
    if subtype is not np.ndarray or shape != (0,) or dtype not in (b"b", "b"):
        raise pickle.UnpicklingError(f"numpy's _reconstruct is allowed only as _reconstruct(ndarray, (0,), 'b'), "
                                     f"got shape {_short(repr(shape), 60)}")
    return _RECONSTRUCT(np.ndarray, (0,), b"b")


CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1,
    ("__builtin__", "bytes"): _empty_bytes,  # Python 3 writes builtins as __builtin__ at protocol 2
    ("builtins", "bytes"): _empty_bytes,
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
    """One CIFAR-10 python batch: (N, 3, 32, 32) uint8 images and (N,) labels, N >= 1. A
    file that asks for anything but numpy arrays, or is damaged, is a UsageError naming it.
    The file is read whole first and unpickled from memory, so a length inside it that
    claims more than the file holds reads as truncated instead of allocating it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not raw:
        raise UsageError(f"{path}: empty (0 bytes), expected a CIFAR-10 python batch (a pickled dict with "
                         "b'data' and b'labels')")
    try:
        batch = CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except _RefusedGlobal as exc:
        raise UsageError(f"{path}: refused to unpickle the global {exc}: a CIFAR-10 python batch holds only "
                         "numpy arrays, lists, bytes and ints (not loaded; replace the file with the "
                         "official one)") from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            OverflowError, MemoryError, RecursionError, struct.error) as exc:
        raise UsageError(f"{path}: not a readable CIFAR-10 python batch, damaged or truncated "
                         f"({type(exc).__name__}: {_short(exc)})") from None
    try:
        return _check_cifar_batch(path, batch)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, MemoryError, RecursionError) as exc:
        raise UsageError(f"{path}: not a CIFAR-10 python batch: its b'data' or b'labels' cannot be read as "
                         f"arrays ({type(exc).__name__}: {_short(exc)})") from None


def _short(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, cut to ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _check_cifar_batch(path: Path, batch: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, dict):
        raise UsageError(f"{path}: not a CIFAR-10 python batch: holds a {type(batch).__name__}, "
                         "expected a dict with b'data' and b'labels'")
    missing = [repr(k) for k in (b"data", b"labels") if k not in batch]
    if missing:
        keys = ", ".join(_short(repr(k), 40) for k in list(batch)[:10]) + (", ..." if len(batch) > 10 else "")
        raise UsageError(f"{path}: not a CIFAR-10 python batch: no {' or '.join(missing)} key "
                         f"(keys: {keys or 'none'})")
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
        raise UsageError(f"{path}: {len(labels)} labels for {len(data)} images, expected one label per image")
    if len(data) == 0:
        raise UsageError(f"{path}: holds 0 images, expected at least 1 (an official batch holds 10,000)")
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
    if x.shape[-1] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                          antialias=resolution < x.shape[-1])
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
