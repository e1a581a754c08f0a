"""Interleaved timing: the implementations of one case timed round-robin, in one window.

pytest-benchmark times each test on its own, so two variants compared in a ratio were
timed a minute apart, and on a shared machine whose speed drifts a ratio near 1 flipped
between runs. Here the first test of a case times every implementation of it in turns
(the order rotated each round, so none always runs after the same neighbour), and each
implementation's test hands its own samples to pytest-benchmark: the JSON keeps one
entry per implementation, which ``genbench compare --bench`` gates on.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

# On a GPU one timed sample queues this many calls and then syncs, so the figure is the
# steady-state time per call (the GPU kept busy), not one launch's latency.
CUDA_REPEATS = 50
WARMUP = 3  # calls before timing: compilation, autotuning, the allocator's first touch
MAX_ROUNDS = 1000


@dataclass(frozen=True)
class Impl:
    """One implementation of a case.

    ``fn`` is one call, or with ``captured`` a CUDA graph replay holding CUDA_REPEATS calls.
    ``bytes`` is the fewest bytes one call must move (0 where that is not the question).
    """

    fn: Callable[[], object]
    bytes: int = 0
    captured: bool = False


@dataclass
class Measured:
    """Seconds per timed sample of each implementation, the calls in one sample, the
    bytes one call moves, and why any implementation could not be timed."""

    samples: dict[str, list[float]]
    repeats: int
    bytes: dict[str, int]
    unavailable: dict[str, str]


def repeats_for(device: str) -> int:
    return CUDA_REPEATS if device == "cuda" else 1


def synced(fn: Callable[[], object], device: str, calls: int = CUDA_REPEATS) -> Callable[[], object]:
    """fn as timed: on CUDA, ``calls`` queued calls followed by a device sync."""
    if device != "cuda":
        return fn

    def run():
        for _ in range(calls):
            out = fn()
        torch.cuda.synchronize()
        return out

    return run


def measure(impls: dict[str, Impl], device: str, *, min_rounds: int, max_time: float,
            unavailable: dict[str, str] | None = None) -> Measured:
    """Times every implementation round-robin until ``min_rounds`` rounds are done and
    ``max_time`` seconds have passed (or MAX_ROUNDS)."""
    runs = {name: synced(impl.fn, device, 1 if impl.captured else CUDA_REPEATS) for name, impl in impls.items()}
    for run in runs.values():
        for _ in range(WARMUP):
            run()
    names = list(runs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    rounds = 0
    while rounds < min_rounds or (time.perf_counter() - started < max_time and rounds < MAX_ROUNDS):
        shift = rounds % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            runs[name]()
            samples[name].append(time.perf_counter() - t0)
        rounds += 1
    return Measured(samples, repeats_for(device), {name: impl.bytes for name, impl in impls.items()},
                    dict(unavailable or {}))


class CaseCache:
    """The measurement of the case being benchmarked, shared by its implementations'
    tests (which pytest runs one after another: impl is the innermost parameter)."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._measured: Measured | None = None

    def get(self, key: str, measure_case: Callable[[], Measured]) -> Measured:
        if key != self._key:
            self._key, self._measured = key, None  # free the last case's tensors first
            self._measured = measure_case()
        assert self._measured is not None
        return self._measured


def report(benchmark, samples: list[float], extra_info: dict) -> None:
    """Hands samples timed by :func:`measure` to pytest-benchmark as this test's rounds.

    pytest-benchmark (4.x, 5.x) has no public way to take samples timed outside it;
    ``_make_stats`` is the internal call its own ``pedantic`` mode makes for this.
    """
    benchmark.extra_info.update(extra_info)
    if benchmark.disabled:
        return
    benchmark._mode = "interleaved"  # marks the fixture used, as pedantic() does
    stats = benchmark._make_stats(1)
    for seconds in samples:
        stats.update(seconds)
    per = extra_info.get("repeats", 1)
    log_case(benchmark.group, extra_info, statistics.median(samples) / per, min(samples) / per)


def log_case(group: str, extra_info: dict, median_s: float, min_s: float) -> None:
    """With GENBENCH_BENCH_LOG=file.jsonl, one line per finished case: what a run that
    times out (the GPU script's) had measured survives."""
    log = os.environ.get("GENBENCH_BENCH_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"group": group, **extra_info, "median_s": median_s, "min_s": min_s}) + "\n")


def cuda_graph(fn: Callable[[], object]) -> Callable[[], None]:
    """fn captured CUDA_REPEATS times in one CUDA graph; the result replays it."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the default stream, as capture requires
        for _ in range(WARMUP):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(CUDA_REPEATS):
            fn()
    return graph.replay
