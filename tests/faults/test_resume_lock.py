"""A run that is running cannot be resumed a second time: the second `--resume` exits 2
and names the process that holds it."""

from __future__ import annotations

import signal
import subprocess
import time

from harness.records import ResultsStore
from tests.helpers import GENBENCH, genbench


def test_a_second_resume_is_refused_and_names_the_holder(tmp_path):
    budget = tmp_path / "long.toml"
    budget.write_text("images = 10000000\nwall_clock_s = 600\neval_every = 256\nn_samples = 32\n")
    first = subprocess.Popen([*GENBENCH, "run", "-g", "clock", "-b", str(budget), "--out", str(tmp_path),
                              "--no-report"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        store = ResultsStore(tmp_path / "genbench.sqlite") if _wait(lambda: (tmp_path / "genbench.sqlite").exists()) \
            else None
        assert store is not None and _wait(lambda: store.runs() and store.runs()[0].status == "running")
        run = store.runs()[0]
        for ref in (run.id, run.suite_run, str(run.run_dir)):
            done = genbench("run", "--resume", ref, "--out", tmp_path)
            assert done.returncode == 2, (ref, done.stderr)
            assert f"pid {run.process.pid}" in done.stderr or "already" in done.stderr, done.stderr
        assert first.poll() is None  # the refused resumes left the running one alone
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 143
    assert store.runs()[0].status == "interrupted"


def _wait(condition, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
