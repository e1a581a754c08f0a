"""Benchmark helpers and the summary: for the fused ops a Markdown table of fused,
eager, torch.compile and the memory floor with the ratios (bench/test_bench_ops.py);
for feature extraction images/s against pytorch-fid."""

from __future__ import annotations

import os

import torch

from bench.interleaved import CUDA_REPEATS, log_case, synced

# The same cuda-marker skip and device list as the tests.
from tests.conftest import devices, pytest_collection_modifyitems  # noqa: F401


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
    log_case(group, benchmark.extra_info, benchmark.stats.stats.median / repeats,
             benchmark.stats.stats.min / repeats)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, dict[str, object]] = {}
    for b in session.benchmarks:
        if b.has_error or "impl" not in b.extra_info:
            continue
        groups.setdefault(b.group, {})[b.extra_info["impl"]] = b
    rows = [row for group, impls in sorted(groups.items()) if (row := ops_row(group, impls))]
    if rows:
        terminalreporter.write_sep("-", "fused ops: median ms per call, interleaved in one run")
        terminalreporter.write_line(allocator_note())
        for line in OPS_HEADER + rows:
            terminalreporter.write_line(line)
    _throughput_summary(terminalreporter, groups)
    _harness_summary(terminalreporter, session.benchmarks)


def _harness_summary(terminalreporter, benchmarks) -> None:
    """bench/test_bench_harness.py: the harness's share of a suite run's wall time."""
    lines = []
    for b in benchmarks:
        info = b.extra_info
        if b.has_error or "harness_share" not in info:
            continue
        parts = ", ".join(f"{k} {info.get(f'{k}_s', 0):.1f} s"
                          for k in ("build", "train_step", "validation_loss", "sample", "metrics"))
        line = (f"{info['suite']}: {info['entries']} entries, {info['wall_s']:.1f} s in-process; {parts}; "
                f"harness {info['harness_s']:.1f} s = {info['harness_share']:.1%}")
        if "isolated_wall_s" in info:
            line += (f". Isolated: {info['isolated_wall_s']:.1f} s, {info['isolation_s_per_entry']:.1f} s per entry "
                     "for the worker process")
        lines.append(line)
    if lines:
        terminalreporter.write_sep("-", "harness overhead (one run)")
        for line in lines:
            terminalreporter.write_line(line)


OPS_HEADER = [
    "| case | fused | eager | compile | floor | × eager | × compile | fused ÷ floor | of copy GB/s "
    "| graph: fused | graph: eager | graph: compile | × eager (graph) | × compile (graph) |",
    "|" + " --- |" * 14,
]


def ops_row(group: str, impls: dict) -> str | None:
    """One Markdown row: times, the floor (the op's bytes at the copy's bandwidth, same
    run) and the speed ratios (above 1: the fused op is faster)."""
    fused = impls.get("fused")
    if fused is None:
        return None
    t = per_call(fused)
    ms = {name: per_call(b) for name, b in impls.items()}
    cells = [group, _ms(t), _ms(ms.get("eager")), _ms(ms.get("compile"))]
    copy = impls.get("copy")
    floor = None
    if copy is not None and fused.extra_info["bytes"]:
        bandwidth = copy.extra_info["bytes"] / ms["copy"]
        floor = fused.extra_info["bytes"] / bandwidth
        cells += [_ms(floor)]
    else:
        cells += ["–"]
    cells += [_ratio(ms.get("eager"), t), _ratio(ms.get("compile"), t), _ratio(t, floor)]
    cells += [f"{fused.extra_info['bytes'] / t / 1e9:.1f} of {copy.extra_info['bytes'] / ms['copy'] / 1e9:.1f}"
              if floor else "–"]
    graph = {name: ms.get(f"{name}-graph") for name in ("fused", "eager", "compile")}
    cells += [_ms(graph["fused"]), _ms(graph["eager"]), _ms(graph["compile"]),
              _ratio(graph["eager"], graph["fused"]), _ratio(graph["compile"], graph["fused"])]
    return "| " + " | ".join(cells) + " |"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms >= 0.01 else f"{ms:.4f}"


def _ratio(slower: float | None, faster: float | None) -> str:
    return "–" if slower is None or faster is None else f"{slower / faster:.2f}"


def allocator_note() -> str:
    """Whether fresh outputs pay first-touch page faults in this run (docs/performance.md)."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if "mmap_max=0" in tunables:
        return "allocator: glibc heap kept between calls (GLIBC_TUNABLES): no first-touch page faults on CPU outputs"
    return "allocator: default: CPU outputs over 32 MB are fresh pages each call (first-touch page faults included)"


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
