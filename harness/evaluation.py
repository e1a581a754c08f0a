"""The end of a run: draw the budget's N samples, time sampling, and compute every
metric that applies. Timing follows DESIGN.md: throughput, per-batch latency, memory."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.api import Batch, Dataset, EvalContext, Generator, Metric, MetricResult
from harness.rng import SampleRNG, mix_seed
from harness.timing import Stopwatch

SAMPLE_BATCH = 64
EVAL_STREAM = 0x5A4D  # keeps evaluation samples apart from any other use of the run seed

# Timing columns: (name, direction, description).
TIMING = {
    "train_images_per_s": ("max", "training throughput (images/s)"),
    "step_ms": ("min", "median time per training step (ms)"),
    "sample_images_per_s": ("max", "sampling throughput (images/s)"),
    "sample_batch_ms": ("min", f"median latency of a {SAMPLE_BATCH}-image sampling batch (ms)"),
    "peak_mem_mb": ("min", "peak memory: CUDA max allocated, or CPU peak RSS (MiB)"),
    "params": ("min", "trainable parameters"),
    "wall_s": ("min", "wall time of the run (s)"),
}


@dataclass
class Evaluation:
    samples: torch.Tensor
    real: Batch
    metrics: list[dict[str, Any]]
    sample_timing: dict[str, float]


def reference_batch(dataset: Dataset, n: int) -> Batch:
    """The first ``n`` test items (the split order is already seeded and random)."""
    return dataset.test.get(torch.arange(min(n, len(dataset.test))))


@torch.no_grad()
def draw_samples(gen: Generator, n: int, seed: int, conditions: torch.Tensor | None,
                 batch_size: int = SAMPLE_BATCH) -> tuple[torch.Tensor, list[float]]:
    """N samples in batches; sample i's randomness depends only on (seed, i)."""
    for m in gen.modules().values():
        m.eval()
    key = mix_seed(seed, EVAL_STREAM)
    out, times = [], []
    # One untimed warm-up batch: first-call costs (allocations, autotuning) stay out.
    warm = min(batch_size, n)
    gen.sample(warm, SampleRNG(key, 0, warm, gen.device),
               None if conditions is None else conditions[:warm].to(gen.device))
    for start in range(0, n, batch_size):
        k = min(batch_size, n - start)
        cond = None if conditions is None else conditions[start:start + k].to(gen.device)
        with Stopwatch(gen.device) as sw:
            images = gen.sample(k, SampleRNG(key, start, k, gen.device), cond)
        times.append(sw.seconds)
        out.append(images.float().cpu())
    return torch.cat(out), times


def evaluate(gen: Generator, dataset: Dataset, n: int, seed: int, metrics: list[Metric],
             sample_batch: int = SAMPLE_BATCH, cache_dir: Path | None = None) -> Evaluation:
    """Draws N samples and computes every metric that applies. A metric that raises is
    recorded as unavailable with the exception, so the trained run is not lost to it."""
    real = reference_batch(dataset, n)
    n = real.images.shape[0] if gen.conditional else n
    conditions = real.conditions if gen.conditional else None
    samples, times = draw_samples(gen, n, seed, conditions, sample_batch)
    bad = (~torch.isfinite(samples)).sum().item()
    if bad:
        raise ValueError(f"{gen.name}.sample returned {bad} non-finite values")
    ctx = EvalContext(gen, dataset, samples, conditions, gen.device, seed, real, cache_dir)
    results = []
    for metric in metrics:
        if not metric.applies_to(gen, dataset):
            continue
        try:
            r = metric.compute(ctx)
        except Exception as exc:
            r = MetricResult(None, unavailable=f"the metric raised {type(exc).__name__}: {exc}")
        results.append({"name": metric.name, "value": r.value, "direction": metric.direction,
                        "n": r.details.get("n", n), "details": r.details, "unavailable": r.unavailable})
    timing = {
        "sample_images_per_s": n / sum(times),
        "sample_batch_ms": statistics.median(times) * 1000,
    }
    return Evaluation(samples, real, results, timing)
