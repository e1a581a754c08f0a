"""Shared fixtures: a CLI runner, a plugin host with extra in-process plugins, and the
cuda marker's clean skip where there is no GPU."""

from __future__ import annotations

import os
import tempfile

import pytest
import torch

from harness import cli
from harness.datasets import clocks

CUDA = torch.cuda.is_available()

# FID weights a developer keeps in the torch hub cache must not change what the tests
# measure (or make every run pay for Inception): the tests, and the CLI subprocesses they
# start, see an empty hub and no download unless a test sets one up itself.
os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="genbench-test-torch-home-")
for _name in ("GENBENCH_FID_WEIGHTS", "GENBENCH_FID_DOWNLOAD", "GENBENCH_CACHE"):
    os.environ.pop(_name, None)


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords and not CUDA:
            item.add_marker(skip)


def devices() -> list:
    """cpu always; cuda (marked) where a GPU exists, so the same tests run on both."""
    return ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.fixture
def run_cli(capsys):
    """Runs ``genbench ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def clock_data():
    return clocks.build(seed=0, resolution=32, channels=1)
