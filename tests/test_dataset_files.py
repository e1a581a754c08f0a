"""The real-dataset loaders on tiny files the test writes in the original formats
(gzip IDX for the MNISTs, pickled batches for CIFAR-10), through the real code path;
and the error that names the files when they are missing."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import pickletools
import struct
from typing import ClassVar

import numpy as np
import pytest
import torch

from harness.datasets import files
from harness.errors import UsageError
from harness.records import ResultsStore


def write_idx(path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


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
     (lambda: b"", "damaged or truncated (EOFError"),
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


def test_a_damaged_batch_exits_2_through_the_cli(run_cli, tmp_path, monkeypatch):
    write_cifar(tmp_path / "data")
    monkeypatch.setenv(files.DATA_ENV, str(tmp_path / "data"))  # --data-dir sets it in this process
    path = tmp_path / "data" / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    code, _, err = run_cli("run", "-g", "gaussian", "-d", "cifar10", "-b", "smoke", "--data-dir", tmp_path / "data",
                           "--out", tmp_path / "runs")
    assert code == 2 and f"{path}: not a readable CIFAR-10 python batch, damaged or truncated" in err
    assert "Traceback" not in err
