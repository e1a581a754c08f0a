"""The timing columns every run records, with their direction and their short header.
Measuring them is ``harness.timing``'s job; this module only says what they are."""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_BATCH = 64  # images per sampling batch when a run is evaluated


@dataclass(frozen=True)
class TimingColumn:
    name: str
    direction: str  # "min" or "max"
    short: str  # the leaderboard's header
    description: str


TIMING: dict[str, TimingColumn] = {c.name: c for c in (
    TimingColumn("train_images_per_s", "max", "train img/s", "training throughput (images/s)"),
    TimingColumn("step_ms", "min", "step ms", "median time per training step (ms)"),
    TimingColumn("sample_images_per_s", "max", "sample img/s", "sampling throughput (images/s)"),
    TimingColumn("sample_batch_ms", "min", "sample batch ms",
                 f"median latency of a {SAMPLE_BATCH}-image sampling batch (ms)"),
    TimingColumn("peak_mem_mb", "min", "peak MiB", "peak memory: CUDA max allocated, or CPU peak RSS (MiB)"),
    TimingColumn("params", "min", "params", "trainable parameters"),
    TimingColumn("wall_s", "min", "wall s", "wall time of the run (s)"),
)}
