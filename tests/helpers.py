"""Test helpers: fake installed distributions (real entry points, no pip), the CLI in a
subprocess, tiny generators that fail on purpose, a suite run in-process, and stand-in
FID Inception weights."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F

from harness import Batch, Generator, SampleRNG, budgets, hookimpl, suites
from harness.metrics import inception
from harness.plans import plan_suite
from harness.plugins import Host
from harness.records import ResultsStore, RunDir
from harness.runner import SuiteRunner
from harness.timing_columns import TIMING

GENBENCH = [sys.executable, "-m", "harness.cli"]


def as_from_a_shell() -> None:
    """A ``preexec_fn``: the signal state of a command typed at a shell. A child inherits
    an ignored SIGINT from whatever started the test run: a non-interactive shell starts
    a background command (``.ci/run &``) with SIGINT and SIGQUIT ignored (POSIX), Python
    then leaves SIGINT ignored, and genbench never saw the test's SIGINT (in CI runs,
    never in a terminal). No test changes the pytest process's SIGINT state (checked with
    a plugin that compared it before and after every test of ``make test``)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def leaderboard_rows(out: Path, suite: str) -> list[dict]:
    """A leaderboard's rows without what differs between two runs of one suite: run
    ids and the timing columns."""
    rows = json.loads((out / f"leaderboard-{suite}.json").read_text())["rows"]
    return [{k: v for k, v in row.items() if k not in ("run", "suite_run") and k not in TIMING} for row in rows]


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_distribution(root: Path, dist: str, module: str, source: str, entry: str | None = None) -> Path:
    """Writes module.py and an installed-looking dist-info with a `genbench` entry point;
    putting ``root`` on PYTHONPATH makes importlib.metadata find it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[genbench]\n{entry or dist} = {module}\n")
    return root


def genbench(*args: str, pythonpath: Path | None = None, env: dict | None = None,
             timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, **(env or {})}
    if pythonpath is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), environ.get("PYTHONPATH")]))
    return subprocess.run([*GENBENCH, *map(str, args)], capture_output=True, text=True, env=environ,
                          timeout=timeout, cwd=cwd)


class TinyGenerator(Generator):
    """A per-pixel mean image plus noise: trains in microseconds, for harness tests."""

    name = "tiny"
    default_config: ClassVar[dict] = {"batch_size": 16, "fail_at": 0, "nan_at": 0}

    def __init__(self, dataset, device, config):
        super().__init__(dataset, device, config)
        shape = (1, dataset.channels, dataset.resolution, dataset.resolution)
        self.mean = torch.nn.Parameter(torch.zeros(shape))
        self.opt = torch.optim.SGD([self.mean], lr=0.5)
        self.steps = 0

    def train_step(self, batch: Batch) -> dict[str, float]:
        self.steps += 1
        if self.steps == self.config["fail_at"]:
            raise RuntimeError("planted failure")
        loss = F.mse_loss(self.mean.expand_as(batch.images), batch.images)
        if self.steps == self.config["nan_at"]:
            loss = loss * float("nan")
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.item()}

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        noise = rng.randn(*self.mean.shape[1:]) * 0.1
        return (self.mean.detach() + noise).clamp(-1, 1)

    def state_dict(self):
        return {"mean": self.mean.detach().clone(), "steps": self.steps}

    def load_state_dict(self, state):
        with torch.no_grad():
            self.mean.copy_(state["mean"])
        self.steps = state["steps"]


class TinyPlugin:
    @hookimpl
    def genbench_generators(self):
        return [TinyGenerator]


def tiny_suite(*configs: dict, budget: str = "smoke") -> suites.Suite:
    """A suite of ``tiny`` on clocks, one entry per config, seed 0."""
    b = budgets.NAMED[budget]
    entries = [suites.Entry("tiny", "clocks", {}, cfg) for cfg in configs]
    return suites.Suite("t", b, entries, (0,))


def run_suite(tmp_path: Path, suite: suites.Suite, host: Host | None = None):
    """Runs ``suite`` on the CPU into a store and run directories under ``tmp_path``
    (with only the tiny plugin unless ``host`` is given); returns (store, suite run, outcomes)."""
    host = host or Host(plugins=[("tiny", TinyPlugin())])
    store = ResultsStore(tmp_path / "genbench.sqlite")
    runner = SuiteRunner(host, store, tmp_path, torch.device("cpu"), show_progress=False)
    suite_run, outcomes = runner.run_suite(suite, plan_suite(host, suite))
    return store, suite_run, outcomes


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict of the FID Inception's exact layout with random values, written under
    the real file name: it proves a real file would load, and feature extraction costs the
    same whatever the values."""
    torch.manual_seed(seed)
    return inception.fid_inception_network().state_dict()


class FolderLog:
    """A training loop's log into a bare run folder (no database), for tests that drive
    ``Trainer`` directly; ``on_evaluation`` sees every evaluation record first."""

    def __init__(self, path: Path, on_evaluation: Callable[[dict], None] | None = None) -> None:
        self.dir, self.on_evaluation = RunDir(path), on_evaluation

    def evaluation(self, record: dict) -> None:
        if self.on_evaluation is not None:
            self.on_evaluation(record)
        self.dir.append_stats(record)

    def checkpoint(self, images_seen: int, state: dict) -> Path:
        return self.dir.save_checkpoint(images_seen, state)
