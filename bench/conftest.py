"""Benchmark helpers: each case is timed as fused vs eager (the reference) vs
torch.compile, and the summary prints speed-ups, GB/s and the fraction of the
bandwidth of ``torch.empty_like(x).copy_(x)`` measured on the same device."""

from __future__ import annotations

import json
import os

import torch

# The same cuda-marker skip and device list as the tests.
from tests.conftest import devices, pytest_collection_modifyitems  # noqa: F401

# On a GPU one timed call queues this many launches and then syncs, so the figure is
# the steady-state time per call (the GPU kept busy) rather than one launch's latency.
CUDA_REPEATS = 50


def synced(fn, device: str):
    """fn as timed: on CUDA, CUDA_REPEATS queued calls followed by a device sync."""
    if device != "cuda":
        return fn

    def run():
        for _ in range(CUDA_REPEATS):
            out = fn()
        torch.cuda.synchronize()
        return out

    return run


def per_call(benchmark_result) -> float:
    """Median seconds per call of the benchmarked function."""
    return benchmark_result.stats.median / benchmark_result.extra_info.get("repeats", 1)


def compiled(fn):
    return torch.compile(fn, mode="max-autotune-no-cudagraphs", dynamic=False)


def record(benchmark, *, group: str, impl: str, bytes_moved: int, fn, device: str,
           rounds: int | None = None) -> None:
    """Benchmarks fn (after warm-up) and stores what the summary needs."""
    run = synced(fn, device)
    for _ in range(3):  # warm-up: compilation, autotuning, allocator
        run()
    benchmark.group = group
    repeats = CUDA_REPEATS if device == "cuda" else 1
    benchmark.extra_info.update({"impl": impl, "bytes": bytes_moved, "device": device, "repeats": repeats})
    if rounds:
        benchmark.pedantic(run, rounds=rounds, warmup_rounds=1, iterations=1)
    else:
        benchmark(run)
    log = os.environ.get("GENBENCH_BENCH_LOG")
    if log:  # one line per case as it finishes: partial results survive a time-out
        with open(log, "a") as f:
            f.write(json.dumps({"group": group, "impl": impl, "device": device, "bytes": bytes_moved,
                                "median_s": benchmark.stats.stats.median / repeats,
                                "min_s": benchmark.stats.stats.min / repeats}) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, dict[str, object]] = {}
    for b in session.benchmarks:
        if b.has_error or "impl" not in b.extra_info:
            continue
        groups.setdefault(b.group, {})[b.extra_info["impl"]] = b
    lines = []
    for group, impls in sorted(groups.items()):
        fused = impls.get("fused")
        if fused is None:
            continue
        t = per_call(fused)
        gbs = fused.extra_info["bytes"] / t / 1e9
        row = f"{group:52s} fused {t * 1e3:9.3f} ms"
        if gbs:
            row += f" {gbs:8.1f} GB/s"
        copy = impls.get("copy")
        if copy is not None and gbs:
            copy_gbs = copy.extra_info["bytes"] / per_call(copy) / 1e9
            row += f"  {gbs / copy_gbs:6.1%} of copy ({copy_gbs:.1f} GB/s)"
        for other in ("eager", "compile"):
            if other in impls:
                row += f"  {per_call(impls[other]) / t:5.2f}x vs {other}"
        lines.append(row)
    if lines:
        terminalreporter.write_sep("-", "fused ops: median time, bandwidth, speed-up (one run)")
        for line in lines:
            terminalreporter.write_line(line)
    _throughput_summary(terminalreporter, groups)


def _throughput_summary(terminalreporter, groups: dict) -> None:
    """Groups timed as images/s: genbench against the reference tool it replaces."""
    lines = []
    for group, impls in sorted(groups.items()):
        ours, theirs = impls.get("genbench"), impls.get("pytorch-fid")
        if ours is None or theirs is None:
            continue
        n = ours.extra_info["images"]
        rate, ref_rate = n / ours.stats.median, n / theirs.stats.median
        lines.append(f"{group:52s} genbench {rate:9.1f} img/s  pytorch-fid {ref_rate:9.1f} img/s  "
                     f"{rate / ref_rate:5.2f}x")
    if lines:
        terminalreporter.write_sep("-", "feature extraction: images/s, median of rounds (one run)")
        for line in lines:
            terminalreporter.write_line(line)
