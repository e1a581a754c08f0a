"""The real-dataset loaders on tiny files the test writes in the original formats
(gzip IDX for the MNISTs, pickled batches for CIFAR-10), through the real code path;
and the error that names the files when they are missing."""

from __future__ import annotations

import gzip
import pickle
import struct

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
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
                 b"labels": list(rng.integers(0, 10, per_batch))}
        with open(directory / name, "wb") as f:
            pickle.dump(batch, f)


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
