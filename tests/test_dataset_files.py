"""The real-dataset loaders on tiny files the test writes in the original formats
(gzip IDX for the MNISTs, pickled batches for CIFAR-10), through the real code path;
and the error that names the files when they are missing."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import pickletools
import re
import struct
from typing import ClassVar

import numpy as np
import pytest
import torch

from harness.datasets import files
from harness.errors import UsageError
from harness.records import ResultsStore


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file's content: the magic number (0, 0x08, rank), the dimensions, the data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path, array: np.ndarray) -> None:
    with gzip.open(path, "wb") as f:
        f.write(idx_bytes(array))


def write_mnist(directory, n_train=60, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte.gz": np.arange(n_train) % 10,
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": np.arange(n_test) % 10}
    for name, array in arrays.items():
        write_idx(directory / name, array)
    return arrays


def write_cifar(directory, per_batch=12, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        # As in the official files: a uint8 array and a list of plain ints.
        batch = {b"batch_label": b"batch", b"data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
                 b"filenames": [b"img_%d.png" % i for i in range(per_batch)]}
        with open(directory / name, "wb") as f:
            pickle.dump(batch, f, protocol=4)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_files_load_with_their_values(tmp_path, name):
    arrays = write_mnist(tmp_path)
    d = files.build(name, root=str(tmp_path))
    assert (d.resolution, d.channels, d.num_classes) == (28, 1, 10)
    assert (len(d.train), len(d.val), len(d.test)) == (50, 10, 20)
    # Every test image is one of the file's images, scaled to [-1, 1], with its label.
    raw = torch.from_numpy(arrays["t10k-images-idx3-ubyte.gz"]).float() / 127.5 - 1
    for img, label in zip(d.test.images, d.test.labels, strict=True):
        matches = [i for i in range(len(raw)) if torch.equal(raw[i], img[0])]
        assert len(matches) == 1 and label == matches[0] % 10


def test_torchvision_layout_and_genbench_data(tmp_path, monkeypatch):
    write_mnist(tmp_path / "MNIST" / "raw")
    monkeypatch.setenv(files.DATA_ENV, str(tmp_path))
    d = files.build("mnist", resolution=32)
    assert d.test.images.shape == (20, 1, 32, 32) and d.options["root"].endswith("MNIST/raw")


def test_cifar_batches(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    d = files.build("cifar10", root=str(tmp_path))
    assert (d.resolution, d.channels) == (32, 3) and len(d.train) + len(d.val) == 60 and len(d.test) == 12
    assert d.test.images.min() >= -1 and d.test.images.max() <= 1
    gray = files.build("cifar10", root=str(tmp_path), channels=1)
    assert gray.channels == 1 and gray.test.images.shape[1] == 1


def test_missing_files_name_what_and_where(tmp_path, monkeypatch):
    monkeypatch.delenv(files.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as err:
        files.build("fashion-mnist", root=str(tmp_path / "nowhere"))
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and str(tmp_path / "nowhere" / "FashionMNIST" / "raw") in message
    assert "download = true" in message


def test_a_corrupt_idx_file_is_named(tmp_path):
    write_mnist(tmp_path)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">3I", 20, 28, 28) + b"\0" * 100)
    with pytest.raises(UsageError, match=r"t10k-images-idx3-ubyte\.gz: IDX header says"):
        files.build("mnist", root=str(tmp_path))


# -- every IDX file is checked: gzip stream, header, sizes, labels (issue 14) -----------


TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


def gz(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)


def build_error(tmp_path, name: str, content: bytes) -> str:
    """The one-line UsageError of building mnist with ``name``'s content replaced."""
    write_mnist(tmp_path)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UsageError) as err:
        files.build("mnist", root=str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    return message


def _flip_deflate_byte() -> bytes:
    raw = bytearray(gz(idx_bytes(np.arange(20 * 28 * 28).reshape(20, 28, 28) % 251)))
    raw[len(raw) // 2] ^= 0xFF
    return bytes(raw)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [(TEST_IMAGES, lambda: gz(idx_bytes(np.zeros((20, 28, 28))))[:-30], "not a readable gzip file, damaged or "
      "truncated (EOFError"),
     (TEST_IMAGES, _flip_deflate_byte, "not a readable gzip file, damaged or truncated"),
     (TEST_IMAGES, lambda: b"\x1f\x8b\x08\x00garbage-after-a-gzip-magic", "not a readable gzip file"),
     (TEST_IMAGES, lambda: gz(idx_bytes(np.zeros((20, 28, 28))))[:-4] + b"\0\0\0\0", "not a readable gzip file"),
     (TEST_IMAGES, lambda: b"", "empty (0 bytes): no IDX header"),
     (TEST_IMAGES, lambda: gz(b""), "empty (0 bytes once decompressed): no IDX header"),
     (TEST_IMAGES, lambda: gz(b"\0\0"), "truncated to 2 byte(s) once decompressed: no IDX header"),
     (TEST_IMAGES, lambda: gz(struct.pack(">HBB", 0, 8, 3) + struct.pack(">2I", 20, 28)),
      "truncated IDX header: 8 of the 12 bytes of its 3 dimensions"),
     (TEST_IMAGES, lambda: gz(b"PK\x03\x04" + bytes(100)), "not an IDX file: magic number 0x504b0304, expected "
      "0x00000803"),
     (TEST_IMAGES, lambda: b"\x00\x01\x08\x03" + bytes(100), "not an IDX file (nor gzip-compressed)"),
     (TEST_IMAGES, lambda: gz(struct.pack(">HBB", 0, 0x0D, 3) + struct.pack(">3I", 20, 28, 28) + bytes(20 * 784 * 4)),
      "IDX type code 0x0d (float), expected 0x08 (unsigned byte)"),
     (TEST_IMAGES, lambda: gz(struct.pack(">HBB", 0, 0x42, 3) + struct.pack(">3I", 20, 28, 28)),
      "IDX type code 0x42 (not an IDX type)"),
     (TEST_IMAGES, lambda: gz(idx_bytes(np.zeros((20, 784)))), "IDX rank 2, expected 3 (N images of 28x28)"),
     (TEST_IMAGES, lambda: gz(idx_bytes(np.zeros((20, 32, 32)))), "IDX dimensions (20, 32, 32), expected "
      "(N, 28, 28)"),
     (TEST_IMAGES, lambda: gz(idx_bytes(np.zeros((0, 28, 28)))), "the IDX header says 0 items, expected at least 1"),
     (TEST_IMAGES, lambda: gz(idx_bytes(np.zeros((20, 28, 28))) + b"\0"), "IDX header says (20, 28, 28) "
      "(15,680 bytes of data), the file holds more"),
     (TEST_LABELS, lambda: gz(idx_bytes(np.zeros((20, 1)))), "IDX rank 2, expected 1 (N labels)"),
     (TEST_LABELS, lambda: gz(idx_bytes(np.arange(20) % 10)[:-3]), "IDX header says (20,) (20 bytes of data), "
      "the file holds 17"),
     (TEST_LABELS, lambda: gz(idx_bytes(np.full(20, 10))), "label values from 10 to 10, expected 0..9"),
     (TRAIN_LABELS, lambda: gz(idx_bytes(np.arange(60) % 10 + 200)), "label values from 200 to 209, expected 0..9")],
    ids=["truncated-gzip", "flipped-deflate-byte", "bad-gzip-header", "bad-crc", "zero-bytes", "empty-gzip",
         "short-magic", "short-dims", "not-idx", "plain-not-idx", "float-type", "unknown-type", "image-rank",
         "image-size", "no-items", "trailing-data", "label-rank", "short-labels", "label-10", "label-200"])
def test_a_damaged_idx_file_is_named(tmp_path, name, content, expected):
    message = build_error(tmp_path, name, content())
    assert message.startswith(f"{tmp_path / name}: ") and expected in message, message


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "plain"])
def test_a_header_claiming_terabytes_allocates_nothing(tmp_path, compressed):
    # 4,294,967,295 images of 28x28: 3.4 TB. The size is checked against what the file
    # holds (plain), or the data read in chunks until it ends (gzip), before any allocation.
    content = struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">3I", 2**32 - 1, 28, 28) + bytes(784 * 3)
    name = TEST_IMAGES if compressed else TEST_IMAGES.removesuffix(".gz")
    write_mnist(tmp_path)
    (tmp_path / TEST_IMAGES).unlink()
    (tmp_path / name).write_bytes(gz(content) if compressed else content)
    with pytest.raises(UsageError) as err:
        files.build("mnist", root=str(tmp_path))
    assert f"{tmp_path / name}: IDX header says (4294967295, 28, 28) (3,367,254,359,280 bytes of data)" in str(
        err.value) and "the file holds 2,352" in str(err.value)


@pytest.mark.parametrize(("images", "labels", "n_images", "n_labels"),
                         [(TRAIN_IMAGES, TRAIN_LABELS, 60, 59), (TEST_IMAGES, TEST_LABELS, 20, 5),
                          (TEST_IMAGES, TEST_LABELS, 20, 21)])
def test_label_and_image_counts_must_agree(tmp_path, images, labels, n_images, n_labels):
    # A label file shorter than its image file used to drop images silently (FD 99.1 ->
    # 110.3); a test-label count of 5 gave N = 5.
    message = build_error(tmp_path, labels, gz(idx_bytes(np.arange(n_labels) % 10)))
    assert message == (f"{tmp_path / labels}: {n_labels:,} labels for the {n_images:,} images of "
                       f"{tmp_path / images}, expected one label per image (are both files of the same set, and "
                       "whole?)")


def test_plain_and_gzip_files_are_told_apart_by_content(tmp_path):
    # torchvision keeps both: foo.gz and the extracted foo. Either is read by what it holds.
    arrays = write_mnist(tmp_path)
    (tmp_path / TEST_IMAGES).unlink()
    (tmp_path / TEST_IMAGES.removesuffix(".gz")).write_bytes(idx_bytes(arrays[TEST_IMAGES]))
    (tmp_path / TRAIN_LABELS).write_bytes(idx_bytes(arrays[TRAIN_LABELS]))  # uncompressed, named .gz
    d = files.build("mnist", root=str(tmp_path))
    assert (len(d.train) + len(d.val), len(d.test)) == (60, 20)


@pytest.mark.parametrize(("make", "what"), [(os.mkdir, "a directory"), (os.mkfifo, "not a regular file")],
                         ids=["directory", "pipe"])
def test_a_directory_or_pipe_where_a_file_should_be_is_named(tmp_path, make, what):
    # Named, not reported missing, and never opened (a pipe would block the read).
    write_mnist(tmp_path)
    (tmp_path / TEST_LABELS).unlink()
    make(tmp_path / TEST_LABELS)
    with pytest.raises(UsageError, match=rf"^{tmp_path / TEST_LABELS}: is {what}, expected the mnist file "
                                         rf"{TEST_LABELS} there$"):
        files.build("mnist", root=str(tmp_path))


def test_a_damaged_data_dir_is_not_passed_over_for_another(tmp_path, monkeypatch):
    # --data-dir (GENBENCH_DATA) names the directory; a complete ./data after it in the
    # search order must not be used in its place.
    write_mnist(tmp_path / "cwd" / "data")
    monkeypatch.chdir(tmp_path / "cwd")
    write_mnist(tmp_path / "given")
    (tmp_path / "given" / TRAIN_IMAGES).unlink()
    (tmp_path / "given" / TRAIN_IMAGES).mkdir()
    monkeypatch.setenv(files.DATA_ENV, str(tmp_path / "given"))
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'given' / TRAIN_IMAGES}: is a directory"):
        files.build("mnist")


@pytest.mark.parametrize(("option", "value", "expected"),
                         [("resolution", "32", "resolution must be an integer 1..512, got '32'"),
                          ("resolution", 100_000, "resolution must be an integer 1..512, got 100000"),
                          ("resolution", -3, "resolution must be an integer 1..512"),
                          ("channels", 1.5, "channels must be an integer (1 or native), got 1.5"),
                          ("seed", 2**70, "split_seed must be an integer 0..2^63-1"),
                          ("root", 5, "root must be a path (a string), got 5"),
                          ("download", "yes", "download must be true or false, got 'yes'")])
def test_dataset_options_are_checked(tmp_path, option, value, expected):
    write_mnist(tmp_path)
    with pytest.raises(UsageError, match=rf"^mnist: dataset option {re.escape(expected)}"):
        files.build("mnist", **({"root": str(tmp_path)} | {option: value}))


def test_cli_error_for_missing_data(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv(files.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("run", "-g", "dcgan", "-d", "mnist", "-b", "smoke", "--out", tmp_path / "runs")
    assert code == 2 and "mnist: files not found" in err
    db = tmp_path / "runs" / "genbench.sqlite"
    assert not db.exists() or ResultsStore(db).runs() == []  # nothing recorded


# -- CIFAR-10 batches are data, never code ---------------------------------------------


class Touch:
    """Unpickled by plain pickle, this runs ``touch PATH`` (os.system)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


class Exec:
    """Unpickled by plain pickle, this creates PATH through builtins.exec."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return exec, (f"open({str(self.path)!r}, 'w').close()",)


def write_batch(path, obj, protocol=4):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


@pytest.mark.parametrize(("payload", "refused"), [(Touch, f"{os.system.__module__}.system"),
                                                  (Exec, "builtins.exec")])
def test_a_crafted_batch_runs_no_code(run_cli, tmp_path, monkeypatch, payload, refused):
    # The payload is live: plain pickle runs it.
    live = tmp_path / "plain-pickle-ran-it"
    pickle.loads(pickle.dumps({b"data": payload(live)}))
    assert live.exists()
    # In a batch, genbench refuses it: exit 2, the file and the global named, nothing run.
    data = tmp_path / "data"
    write_cifar(data)
    marker = tmp_path / "genbench-ran-it"
    write_batch(data / "data_batch_1", {b"data": payload(marker), b"labels": [0]})
    monkeypatch.setenv(files.DATA_ENV, str(data))  # --data-dir sets it in this process: restored after
    code, _, err = run_cli("run", "-g", "gaussian", "-d", "cifar10", "-b", "smoke", "--data-dir", data,
                           "--out", tmp_path / "runs")
    assert code == 2, err
    assert not marker.exists()
    assert f"{data / 'data_batch_1'}: refused to unpickle the global" in err and refused in err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("genbench: error: ")
    db = tmp_path / "runs" / "genbench.sqlite"
    assert not db.exists() or ResultsStore(db).runs() == []


class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 wrote its str (BINSTRING), as in the official CIFAR-10
    files, instead of Python 3's protocol-2 ``_codecs.encode`` call."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n))
                   + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


class Anything:
    pass


def test_the_official_format_loads_and_nothing_else(tmp_path):
    # As the official files were written: Python 2, protocol 2, numpy 1's module names.
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    raw = py2_pickle({b"batch_label": b"testing batch 1 of 1", b"labels": [3, 9], b"data": data,
                      b"filenames": [b"a.png", b"b.png"]})
    globals_used = {arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"}
    assert globals_used == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
    path = tmp_path / "test_batch"
    path.write_bytes(raw)
    images, labels = files.read_cifar_batch(path)
    assert images.shape == (2, 3, 32, 32) and images.dtype == np.uint8 and labels.tolist() == [3, 9]
    assert np.array_equal(images.reshape(2, 3072), data)
    # Any other global at all, even a harmless class, is refused.
    write_batch(path, {b"data": data, b"labels": [Anything(), 1]})
    with pytest.raises(UsageError, match=r"test_batch: refused to unpickle the global .*Anything"):
        files.read_cifar_batch(path)
    write_batch(path, {b"data": data, b"labels": [np.int64(3), np.int64(9)]})  # numpy scalars: a global too
    with pytest.raises(UsageError, match=r"refused to unpickle the global numpy\._core\.multiarray\.scalar"):
        files.read_cifar_batch(path)


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def good_batch(n=4):
    return {b"data": np.zeros((n, 3072), np.uint8), b"labels": [1] * n}


@pytest.mark.parametrize(
    ("content", "expected"),
    [(lambda: pickle.dumps(good_batch(), protocol=4)[:-40], "damaged or truncated (UnpicklingError"),
     (lambda: py2_pickle(good_batch())[:-1], "damaged or truncated (EOFError"),
     (lambda: b"", "empty (0 bytes), expected a CIFAR-10 python batch"),
     (lambda: b"not a pickle at all", "damaged or truncated (UnpicklingError"),
     (lambda: pickle.dumps([1, 2, 3]), "holds a list, expected a dict with b'data' and b'labels'"),
     (lambda: pickle.dumps({b"data": np.zeros((4, 3072), np.uint8)}), "no b'labels' key"),
     (lambda: pickle.dumps({"data": np.zeros((4, 3072), np.uint8), "labels": [1] * 4}),
      "no b'data' or b'labels' key (keys: 'data', 'labels')"),
     (lambda: pickle.dumps({**good_batch(), b"labels": [1] * 3}), "3 labels for 4 images"),
     (lambda: pickle.dumps({**good_batch(), b"data": np.zeros((4, 1024), np.uint8)}),
      "b'data' has shape (4, 1024), expected (N, 3072)"),
     (lambda: pickle.dumps({**good_batch(), b"data": np.zeros(3072 * 4, np.uint8)}),
      "b'data' has shape (12288,), expected (N, 3072)"),
     (lambda: pickle.dumps({**good_batch(), b"data": np.full((4, 3072), 300, np.int64)}),
      "b'data' holds int64 values, expected bytes"),
     (lambda: pickle.dumps({**good_batch(), b"labels": [b"cat"] * 4}), "b'labels' must be a list of integers"),
     (lambda: pickle.dumps({**good_batch(), b"labels": [10] * 4}), "labels outside 0..9")],
    ids=["truncated-end", "truncated", "empty", "garbage", "not-a-dict", "no-labels", "str-keys",
         "label-count", "short-rows", "flat-data", "not-bytes", "label-type", "label-range"],
)
def test_a_damaged_batch_is_named(tmp_path, content, expected):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3").write_bytes(content())
    with pytest.raises(UsageError) as err:
        files.build("cifar10", root=str(tmp_path))
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'data_batch_3'}: ") and expected in message, message
    assert "\n" not in message


def test_python3_protocol_2_batches_load_and_codecs_encode_only_as_latin1(tmp_path):
    # Python 3 writes bytes at protocol 2 as _codecs.encode(str, 'latin1'): allowed for
    # exactly that, so a batch re-pickled at the official files' protocol loads.
    path = tmp_path / "test_batch"
    write_batch(path, {b"data": np.full((2, 3072), 7, np.uint8), b"labels": [4, 5]}, protocol=2)
    images, labels = files.read_cifar_batch(path)
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [4, 5] and int(images.max()) == 7
    raw = pickle.dumps({b"data": 0}, protocol=2).replace(b"latin1", b"rot_13")
    path.write_bytes(raw)
    with pytest.raises(UsageError, match=r"_codecs.encode is allowed only as encode\(str, 'latin1'\)"):
        files.read_cifar_batch(path)
    path.write_bytes(b"\x80\x02c__builtin__\nbytes\nJ\x00\x00\x00\x10\x85R.")  # bytes(2**28)
    with pytest.raises(UsageError, match=r"bytes is allowed only as bytes\(\), got 1 argument"):
        files.read_cifar_batch(path)


def test_a_batch_cannot_make_numpy_allocate_what_it_does_not_hold(tmp_path):
    # _reconstruct(ndarray, (10**7, 3072), 'b'): 30 GB asked for by a file of 150 bytes.
    raw = pickle.dumps({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}, protocol=2)
    raw = raw.replace(b"K\x00\x85q", b"J\x80\x96\x98\x00M\x00\x0c\x86q", 1)
    path = tmp_path / "test_batch"
    path.write_bytes(raw)
    with pytest.raises(UsageError, match=r"_reconstruct is allowed only as _reconstruct\(ndarray, \(0,\), 'b'\), "
                                         r"got shape \(10000000, 3072\)"):
        files.read_cifar_batch(path)


def test_an_empty_test_batch_is_refused(tmp_path):
    # An empty test_batch used to give status ok with no metrics.
    write_cifar(tmp_path)
    write_batch(tmp_path / "test_batch", {b"data": np.zeros((0, 3072), np.uint8), b"labels": []}, protocol=2)
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'test_batch'}: holds 0 images, expected at least 1"):
        files.build("cifar10", root=str(tmp_path))


def test_a_length_claiming_more_than_the_file_reads_as_truncated(tmp_path):
    # BINBYTES8 with a length of 2^60: read from memory, it is short, not allocated.
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(b"\x80\x04\x8e" + struct.pack("<Q", 2**60) + b"abc")
    with pytest.raises(UsageError, match=r"test_batch: not a readable CIFAR-10 python batch, damaged or truncated"):
        files.build("cifar10", root=str(tmp_path))


@pytest.mark.parametrize(
    ("content", "expected"),
    [(lambda: b"\x80\x02not a pickle", "damaged or truncated (UnpicklingError"),
     (lambda: py2_pickle(good_batch())[:-1], "damaged or truncated (EOFError"),
     (lambda: py2_pickle({b"labels": [1, 2]}), "no b'data' key (keys: b'labels')"),
     (lambda: py2_pickle({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}), "holds 0 images")],
    ids=["unpickling-error", "eof", "no-data-key", "empty"])
def test_each_damage_exits_2_naming_the_file(run_cli, tmp_path, monkeypatch, content, expected):
    write_cifar(tmp_path / "data")
    monkeypatch.setenv(files.DATA_ENV, str(tmp_path / "data"))  # --data-dir sets it in this process
    path = tmp_path / "data" / "data_batch_5"
    path.write_bytes(content())
    code, _, err = run_cli("run", "-g", "gaussian", "-d", "cifar10", "-b", "smoke", "--isolation", "none",
                           "--data-dir", tmp_path / "data", "--out", tmp_path / "runs")
    assert code == 2 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("genbench: error: ")]
    assert line.startswith(f"genbench: error: {path}: ") and expected in line, err
    db = tmp_path / "runs" / "genbench.sqlite"
    assert not db.exists() or ResultsStore(db).runs() == []


def test_a_damaged_batch_exits_2_through_the_cli(run_cli, tmp_path, monkeypatch):
    write_cifar(tmp_path / "data")
    monkeypatch.setenv(files.DATA_ENV, str(tmp_path / "data"))  # --data-dir sets it in this process
    path = tmp_path / "data" / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    code, _, err = run_cli("run", "-g", "gaussian", "-d", "cifar10", "-b", "smoke", "--data-dir", tmp_path / "data",
                           "--out", tmp_path / "runs")
    assert code == 2 and f"{path}: not a readable CIFAR-10 python batch, damaged or truncated" in err
    assert "Traceback" not in err
