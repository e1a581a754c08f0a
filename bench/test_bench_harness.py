"""The harness's own share of a suite's wall time.

Everything a suite run does outside the generator's own code (its constructor,
``train_step``, ``validation_loss`` and ``sample``) and the metrics' ``compute`` is the
harness's: building and batching the data, logging, checkpoints, recording, sample
grids, the leaderboard and the report. The suite runs through the real command
(``genbench run``) with those methods timed; the share is 1 - (their time) / (the
command's wall time). Nested regions (a metric that samples) count once, as the outer.

In-process (``--isolation none``) that share is the harness's code. With the default
``--isolation process`` each entry also starts a worker process (a fresh interpreter
importing torch); for smoke its cost per entry is the difference of the two wall times,
reported beside the share rather than hidden in it. ``quick`` is marked slow (about 6
minutes here): ``pytest bench/test_bench_harness.py -m slow --benchmark-only``.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict

import pytest

from harness import cli
from harness.plugins import Host
from harness.suites import load as load_suite


class Regions:
    """Seconds spent in the wrapped methods, outermost call only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._depth = 0

    def wrap(self, monkeypatch, owner: type, attr: str, label: str) -> None:
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if self._depth:
                return original(*args, **kwargs)
            self._depth += 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self._depth -= 1

        monkeypatch.setattr(owner, attr, timed)


def _timed_regions(monkeypatch) -> Regions:
    regions = Regions()
    host = Host()
    for gen_class in {id(c): c for c in host.generators.values()}.values():
        for method in ("__init__", "train_step", "validation_loss", "sample"):
            regions.wrap(monkeypatch, gen_class, method, "build" if method == "__init__" else method)
    for metric_class in {type(m) for m in host.metrics.values()}:
        regions.wrap(monkeypatch, metric_class, "compute", "metrics")
    return regions


def _run(suite: str, out, isolation: str) -> float:
    started = time.perf_counter()
    code = cli.main(["run", "--suite", suite, "--isolation", isolation, "--out", str(out), "--no-progress"])
    assert code == 0, f"genbench run --suite {suite} exited {code}"
    return time.perf_counter() - started


@pytest.mark.parametrize("suite", ["smoke", pytest.param("quick", marks=pytest.mark.slow)])
def test_harness_share(benchmark, monkeypatch, tmp_path, suite):
    regions = _timed_regions(monkeypatch)
    entries = len(load_suite(suite).entries)
    wall = {}

    def both():
        wall["none"] = _run(suite, tmp_path / "in-process", "none")
        measured = dict(regions.seconds)
        if suite == "smoke":
            wall["process"] = _run(suite, tmp_path / "isolated", "process")
        return measured

    measured = benchmark.pedantic(both, rounds=1, iterations=1)
    inside = sum(measured.values())
    benchmark.group = f"harness share of a {suite} suite run"
    benchmark.extra_info.update({
        "suite": suite, "entries": entries, "wall_s": wall["none"],
        **{f"{k}_s": v for k, v in measured.items()},
        "harness_s": wall["none"] - inside, "harness_share": 1 - inside / wall["none"],
    })
    if "process" in wall:
        benchmark.extra_info.update({"isolated_wall_s": wall["process"],
                                     "isolation_s_per_entry": (wall["process"] - wall["none"]) / entries})
