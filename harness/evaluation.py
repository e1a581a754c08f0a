"""The end of a run: draw the budget's N samples, time sampling, and compute every
metric that applies. Timing follows DESIGN.md: throughput, per-batch latency, memory."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import torch

from harness.api import Batch, Dataset, EvalContext, Generator, Metric, MetricResult
from harness.records.types import MetricValue
from harness.rng import SampleRNG, mix_seed
from harness.sample_checks import check_batch, check_range
from harness.timing import Stopwatch
from harness.timing_columns import SAMPLE_BATCH

EVAL_STREAM = 0x5A4D  # keeps evaluation samples apart from any other use of the run seed


@dataclass
class FinalEvaluation:
    """What evaluating a trained generator gives: its samples, the reference items, the
    quality metrics and the sampling times."""

    samples: torch.Tensor
    real: Batch
    metrics: list[MetricValue]
    sample_timing: dict[str, float]
    checks: dict[str, float]  # what the sample checks changed (the share clamped), recorded with the run


def reference_batch(dataset: Dataset, n: int) -> Batch:
    """The first ``n`` test items (the split order is already seeded and random)."""
    return dataset.test.get(torch.arange(min(n, len(dataset.test))))


@torch.no_grad()
def draw_samples(gen: Generator, dataset: Dataset, n: int, seed: int, conditions: torch.Tensor | None,
                 batch_size: int = SAMPLE_BATCH) -> tuple[torch.Tensor, list[float]]:
    """N samples in batches; sample i's randomness depends only on (seed, i)."""
    gen.train(False)
    key = mix_seed(seed, EVAL_STREAM)
    out, times = [], []
    # One untimed warm-up batch: first-call costs (allocations, autotuning) stay out.
    warm = min(batch_size, n)
    check_batch(gen.sample(warm, SampleRNG(key, 0, warm, gen.device),
                           None if conditions is None else conditions[:warm].to(gen.device)),
                warm, dataset, gen.name)
    for start in range(0, n, batch_size):
        k = min(batch_size, n - start)
        cond = None if conditions is None else conditions[start:start + k].to(gen.device)
        with Stopwatch(gen.device) as sw:
            images = gen.sample(k, SampleRNG(key, start, k, gen.device), cond)
        times.append(sw.seconds)
        out.append(check_batch(images, k, dataset, gen.name).float().cpu())
    return torch.cat(out), times


def evaluate(gen: Generator, dataset: Dataset, n: int, seed: int, metrics: list[Metric],
             sample_batch: int = SAMPLE_BATCH, cache_dir: Path | None = None) -> FinalEvaluation:
    """Draws N samples and computes every metric that applies. A metric that raises is
    recorded as unavailable with the exception, so the trained run is not lost to it."""
    real = reference_batch(dataset, n)
    n = real.images.shape[0] if gen.conditional else n
    conditions = real.conditions if gen.conditional else None
    samples, times = draw_samples(gen, dataset, n, seed, conditions, sample_batch)
    samples, checks = check_range(samples, gen.name)
    ctx = EvalContext(gen, dataset, samples, conditions, gen.device, seed, real, cache_dir)
    results = []
    for metric in metrics:
        if not metric.applies_to(gen, dataset):
            continue
        try:
            r = metric.compute(ctx)
        except Exception as exc:
            r = MetricResult(None, unavailable=f"the metric raised {type(exc).__name__}: {exc}")
        results.append(MetricValue(metric.name, r.value, metric.direction, metric.kind, r.details.get("n", n),
                                   r.details, r.unavailable))
    timing = {
        "sample_images_per_s": n / sum(times),
        "sample_batch_ms": statistics.median(times) * 1000,
    }
    return FinalEvaluation(samples, real, results, timing, checks)
