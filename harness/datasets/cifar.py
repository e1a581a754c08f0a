"""CIFAR-10 python batches, unpickled by an unpickler that can build a batch and nothing
else: no global outside numpy's array reconstruction runs, and a reconstruction cannot
ask for more memory than the file could fill."""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import UsageError
from harness.errors import shorten as _short


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
