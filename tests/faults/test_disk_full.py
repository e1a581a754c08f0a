"""A disk that fills during a run: the run is failed with "no space left on device",
genbench exits 1 without a traceback, no temporary file stays behind, and the store
(on another disk) stays consistent."""

from __future__ import annotations

import subprocess

import pytest

from harness.records import ResultsStore
from tests.helpers import genbench


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 1 MiB tmpfs here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_run_cleanly(small_disk, tmp_path):
    db = tmp_path / "genbench.sqlite"
    done = genbench("run", "-g", "clock", "-g", "gaussian", "-b", "smoke", "--out", small_disk / "runs",
                    "--db", db, "--no-report")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    store = ResultsStore(db)
    clock, gaussian = store.runs()
    assert clock.status == "failed" and clock.reason.startswith("no space left on device"), clock.reason
    assert gaussian.status == "ok"  # the suite went on
    assert store.suite_runs()[0].finished is not None
    assert not list(small_disk.rglob("*.tmp"))
