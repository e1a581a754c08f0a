"""IDX files (MNIST, Fashion-MNIST), gzip-compressed or not: the header is checked
against the file before anything is allocated, so a damaged or hostile header is an
error naming the file, never a huge allocation or a smaller data set."""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import UsageError
from harness.errors import shorten as _short

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
