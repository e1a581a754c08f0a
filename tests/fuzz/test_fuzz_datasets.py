"""Fuzzing the real-dataset loaders through ``genbench run`` (issue 14): damaged MNIST
IDX files (truncated, bytes flipped, header fields changed, labels short or out of
range, trailing data, a directory in a file's place) and damaged CIFAR-10 python batches
(random bytes, truncated pickles, dicts with wrong keys, dtypes or shapes, written at
pickle protocol 2 like the official ones, empty batches). Every input breaks the data
set, except where a strategy says it may not (``bad=False``): genbench must exit 2 with
one line naming the file, show no traceback and record nothing.

The data sets are tiny (60 train / 20 test MNIST images, 5 x 4 + 4 CIFAR-10 images), and
the generator is ``gaussian``, which does not train: an input that happens to stay valid
runs in a second or two; an invalid one is refused before anything is recorded."""

from __future__ import annotations

import gzip
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
from contract import check, genbench, recorded
from hypothesis import given, settings
from hypothesis import strategies as st

IMAGES = ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")
LABELS = ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
MNIST_FILES = (IMAGES[0], LABELS[0], IMAGES[1], LABELS[1])
MNIST_COUNTS = {IMAGES[0]: 60, LABELS[0]: 60, IMAGES[1]: 20, LABELS[1]: 20}
CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
CIFAR_PER_BATCH = 4


def idx_bytes(array: np.ndarray, dtype_code: int = 0x08) -> bytes:
    """An IDX file's content: the magic number (0, type, rank), the big-endian dimensions,
    the data."""
    header = struct.pack(">HBB", 0, dtype_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def gz(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)


def _mnist_contents() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    return {name: idx_bytes(rng.integers(0, 256, (n, 28, 28)) if name in IMAGES else np.arange(n) % 10)
            for name, n in MNIST_COUNTS.items()}


MNIST = _mnist_contents()


def header_size(name: str) -> int:
    return 4 + 4 * (3 if name in IMAGES else 1)


def decodes_to(compressed: bytes, content: bytes) -> bool:
    try:
        return gzip.decompress(compressed) == content
    except Exception:  # any failure to decompress: the file is damaged
        return False


def _flips(draw: st.DrawFn, raw: bytes, positions: st.SearchStrategy[int]) -> bytes:
    out = bytearray(raw)
    for pos in draw(st.lists(positions, min_size=1, max_size=4, unique=True)):
        out[pos] ^= draw(st.integers(1, 255))
    return bytes(out)


IDX_KINDS = ("truncate-gzip", "truncate-content", "flip-gzip", "flip-header", "header-field", "label-range",
             "label-count", "trailing", "random", "plain-huge", "directory")


@st.composite
def damaged_idx(draw: st.DrawFn) -> tuple[str, bytes | None, bool]:
    """(file name, its new content or None for a directory, whether it is surely invalid).
    A file name without ``.gz`` replaces the ``.gz`` file by an uncompressed one."""
    kind = draw(st.sampled_from(IDX_KINDS))
    name = draw(st.sampled_from(LABELS if kind in ("label-range", "label-count") else MNIST_FILES))
    content, n = MNIST[name], MNIST_COUNTS[name]
    rank = 3 if name in IMAGES else 1
    if kind == "truncate-gzip":  # a gzip stream cut anywhere lacks its trailer: always damaged
        compressed = gz(content)
        return name, compressed[:draw(st.integers(0, len(compressed) - 1))], True
    if kind == "truncate-content":
        return name, gz(content[:draw(st.integers(0, len(content) - 1))]), True
    if kind == "flip-gzip":  # valid only where the flip hits what the stream does not check (its mtime)
        compressed = gz(content)
        flipped = _flips(draw, compressed, st.integers(0, len(compressed) - 1))
        return name, flipped, not decodes_to(flipped, content)
    if kind == "flip-header":  # magic, type, rank or a dimension: any change breaks it
        return name, gz(_flips(draw, content, st.integers(0, header_size(name) - 1))), True
    if kind == "header-field":
        field = draw(st.sampled_from(["zero", "type", "rank", *(f"dim{i}" for i in range(rank))]))
        zero, dtype_code, file_rank = 0, 0x08, rank
        dims = [n, 28, 28][:rank]
        if field == "zero":
            zero = draw(st.integers(1, 0xFFFF))
        elif field == "type":
            dtype_code = draw(st.integers(0, 255).filter(lambda v: v != 0x08))
        elif field == "rank":
            file_rank = draw(st.integers(0, 255).filter(lambda v: v != rank))
        else:
            i = int(field[3:])
            dims[i] = draw(st.one_of(st.integers(0, 64), st.just(2**32 - 1), st.integers(0, 2**32 - 1))
                           .filter(lambda v, old=dims[i]: v != old))
        header = struct.pack(">HBB", zero, dtype_code, file_rank) + struct.pack(f">{rank}I", *dims)
        return name, gz(header + content[header_size(name):]), True
    if kind == "label-range":
        labels = bytearray(content)
        labels[draw(st.integers(header_size(name), len(content) - 1))] = draw(st.integers(10, 255))
        return name, gz(bytes(labels)), True
    if kind == "label-count":  # fewer or more labels than images, each file whole
        k = draw(st.integers(0, n + 5).filter(lambda v: v != n))
        return name, gz(idx_bytes(np.arange(k) % 10)), True
    if kind == "trailing":
        return name, gz(content + draw(st.binary(min_size=1, max_size=64))), True
    if kind == "random":
        return name, draw(st.binary(max_size=300)), True
    if kind == "plain-huge":  # uncompressed, a header claiming up to terabytes
        dims = (draw(st.integers(n + 1, 2**32 - 1)), 28, 28)[:rank]
        header = struct.pack(">HBB", 0, 0x08, rank) + struct.pack(f">{rank}I", *dims)
        return name.removesuffix(".gz"), header + content[header_size(name):], True
    return name, None, True  # a directory where the file should be


def write_damaged(template: Path, target: Path, name: str, content: bytes | None) -> None:
    """A copy of the template data set with ``name`` replaced (an uncompressed IDX file
    replaces the ``.gz`` one; None: a directory in the file's place)."""
    shutil.copytree(template, target)
    (target / f"{name}.gz").unlink(missing_ok=True)
    (target / name).unlink(missing_ok=True)
    if content is None:
        (target / name).mkdir()
    else:
        (target / name).write_bytes(content)


def run(dataset: str, data: Path, out: Path):
    """``genbench run`` on ``data``, from a folder of its own (no ./data to fall back on)."""
    return genbench("run", "-g", "gaussian", "-d", dataset, "--budget", "smoke", "--isolation", "none",
                    "--no-report", "--data-dir", data, "--out", out, cwd=data.parent)


def _fuzz_files(dataset: str, target: str, template: Path, damages, fuzz_settings, tmp_path_factory) -> None:
    """Runs ``dataset`` on copies of the ``template`` files, one damaged as ``damages``
    draws it (a file name, its new content, whether it is surely invalid)."""

    @settings(parent=fuzz_settings)
    @given(damages)
    def one(damage):
        name, content, bad = damage
        root = tmp_path_factory.mktemp(dataset)
        write_damaged(template, root / "data", name, content)
        out = root / "runs"
        before = recorded(out)
        outcome = run(dataset, root / "data", out)
        check(target, outcome, names=(name,), before=before, after=recorded(out), bad=bad)

    one()


def test_damaged_idx_files(fuzz_settings, tmp_path_factory):
    template = tmp_path_factory.mktemp("mnist-template")
    for name, content in MNIST.items():
        (template / name).write_bytes(gz(content))
    _fuzz_files("mnist", "mnist files", template, damaged_idx(), fuzz_settings, tmp_path_factory)


# -- CIFAR-10 python batches -------------------------------------------------------------


def cifar_batch(n: int, seed: int = 0) -> dict:
    """A batch as the official files hold it: a uint8 array and lists of plain ints."""
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"fuzz", b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, n)], b"filenames": [b"%d.png" % i for i in range(n)]}


def protocol2(obj: object) -> bytes:
    return pickle.dumps(obj, protocol=2)


def _data_dtype(draw: st.DrawFn, batch: dict) -> None:
    batch[b"data"] = batch[b"data"].astype(draw(st.sampled_from([np.float32, np.float64, np.bool_])))


def _data_range(draw: st.DrawFn, batch: dict) -> None:
    data = batch[b"data"].astype(np.int64)
    data.flat[draw(st.integers(0, data.size - 1))] = draw(st.one_of(st.integers(256, 2**62), st.integers(-2**62, -1)))
    batch[b"data"] = data


def _data_shape(draw: st.DrawFn, batch: dict) -> None:
    n = len(batch[b"labels"])
    shape = draw(st.one_of(st.just((n * 3072,)), st.just((n, 3, 32, 32)), st.just((n, 32, 32, 3)),
                           st.tuples(st.just(n), st.integers(0, 4000).filter(lambda k: k != 3072))))
    batch[b"data"] = np.zeros(shape, np.uint8)


def _label_count(draw: st.DrawFn, batch: dict) -> None:
    n = len(batch[b"labels"])
    batch[b"labels"] = [1] * draw(st.integers(0, n + 3).filter(lambda k: k != n))


def _label_range(draw: st.DrawFn, batch: dict) -> None:
    labels = batch[b"labels"]
    labels[draw(st.integers(0, len(labels) - 1))] = draw(st.one_of(st.integers(10, 2**40), st.integers(-2**40, -1)))


def _label_type(draw: st.DrawFn, batch: dict) -> None:
    value = draw(st.one_of(st.floats(allow_nan=True), st.binary(max_size=4), st.text(max_size=4), st.none(),
                           st.lists(st.integers(0, 9), min_size=2, max_size=2)))
    labels = batch[b"labels"]
    labels[draw(st.integers(0, len(labels) - 1))] = value


def _drop(key: bytes):
    def drop(draw: st.DrawFn, batch: dict) -> None:
        del batch[key]
    return drop


def _str_keys(draw: st.DrawFn, batch: dict) -> None:
    for key in list(batch):
        batch[key.decode()] = batch.pop(key)


def _empty(draw: st.DrawFn, batch: dict) -> None:
    batch[b"data"], batch[b"labels"], batch[b"filenames"] = np.zeros((0, 3072), np.uint8), [], []


DEFECTS = {"data-dtype": _data_dtype, "data-range": _data_range, "data-shape": _data_shape,
           "label-count": _label_count, "label-range": _label_range, "label-type": _label_type,
           "no-data": _drop(b"data"), "no-labels": _drop(b"labels"), "str-keys": _str_keys, "empty": _empty}
CIFAR_KINDS = ("defect", "not-a-dict", "random", "truncate", "flip-structure", "directory")


def _outside_pixels(raw: bytes) -> list[int]:
    """The positions in a pickled batch outside its pixels (which Python 3 writes at protocol
    2 as the UTF-8 of their latin-1 text)."""
    pixels = cifar_batch(CIFAR_PER_BATCH)[b"data"].tobytes().decode("latin1").encode("utf-8")
    start = raw.find(pixels)
    assert start > 0
    return [*range(start), *range(start + len(pixels), len(raw))]


@st.composite
def damaged_batch(draw: st.DrawFn) -> tuple[str, bytes | None, bool]:
    """(batch file name, its new content or None for a directory, whether it is surely invalid)."""
    name = draw(st.sampled_from(CIFAR_FILES))
    kind = draw(st.sampled_from(CIFAR_KINDS))
    if kind == "defect":  # one defect in an otherwise official-looking batch: always invalid
        batch = cifar_batch(draw(st.integers(1, 4)), seed=draw(st.integers(0, 3)))
        DEFECTS[draw(st.sampled_from(sorted(DEFECTS)))](draw, batch)
        return name, protocol2(batch), True
    if kind == "not-a-dict":
        obj = draw(st.one_of(st.none(), st.integers(), st.binary(max_size=8), st.lists(st.integers(), max_size=3),
                             st.just([cifar_batch(2)]), st.just((b"data", b"labels"))))
        return name, protocol2(obj), True
    if kind == "random":  # no pickle at all, or one that ends early
        return name, draw(st.binary(max_size=300)), True
    raw = protocol2(cifar_batch(CIFAR_PER_BATCH))
    if kind == "truncate":  # a pickle cut before its STOP opcode never loads
        return name, raw[:draw(st.integers(0, len(raw) - 1))], True
    if kind == "flip-structure":
        # Bytes outside the pixels: opcodes, keys, the dtype, the labels. Some flips keep
        # the batch valid (a label 3 -> 5, a byte of a file name), so exit 0 may be right.
        return name, _flips(draw, raw, st.sampled_from(_outside_pixels(raw))), False
    return name, None, True


def test_damaged_cifar_batches(fuzz_settings, tmp_path_factory):
    template = tmp_path_factory.mktemp("cifar-template")
    for i, name in enumerate(CIFAR_FILES):
        (template / name).write_bytes(protocol2(cifar_batch(CIFAR_PER_BATCH, seed=i)))

    _fuzz_files("cifar10", "cifar10 batches", template, damaged_batch(), fuzz_settings, tmp_path_factory)
