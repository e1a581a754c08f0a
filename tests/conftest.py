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


@pytest.fixture
def one_blas_thread():
    """The metrics run their small-matrix loops on one BLAS thread; so do the tests' own
    small KIDs and FDs (on a busy 2-core machine, threads made them several-fold slower).
    The numbers are the same either way."""
    from harness.metrics.uncertainty import single_threaded_blas

    with single_threaded_blas():
        yield


@pytest.fixture(scope="session")
def clock_data():
    return clocks.build(seed=0, resolution=32, channels=1)


# PostgreSQL: one throwaway server per test session (tests/postgres_server.py), started the
# first time a test asks for it, so runs that never touch PostgreSQL pay nothing for it.
POSTGRES_FIXTURES = ("postgres_server", "postgres_url")


def pytest_itemcollected(item):
    # Here, not in pytest_collection_modifyitems: the marker must be on before -m selects.
    if any(name in getattr(item, "fixturenames", ()) for name in POSTGRES_FIXTURES):
        item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server (a ``PostgresServer``: ``.new_database()``,
    ``.url_for(name)``, ``.connect(name)``); skips where PostgreSQL is missing, unless
    GENBENCH_REQUIRE_POSTGRES=1. Stopped and deleted at the end, whatever the tests did."""
    from tests.postgres_server import PostgresServer, require_postgres

    require_postgres()
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh, empty database for one test, dropped after it."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_location(request, tmp_path):
    """Where a results store lives, once per backend: an SQLite file path, then a fresh
    PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "genbench.sqlite")
    return request.getfixturevalue("postgres_url")
