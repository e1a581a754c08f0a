"""TensorBoard logging for ``genbench run --tensorboard DIR``: per run, the losses and
step time at every evaluation, throughput, a grid of samples drawn from fixed noise at
every evaluation (so the grids show training progress), and the final metrics.

One event directory per run, ``DIR/<run id>-<generator>-<dataset>-seed<N>``, so
``tensorboard --logdir DIR`` shows the runs side by side."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from harness.api import Dataset, Generator
from harness.errors import UsageError
from harness.evaluation import draw_samples
from harness.images import grid
from harness.records.types import MetricValue
from harness.rng import mix_seed

GRID_SAMPLES = 16
TENSORBOARD_STREAM = 0x7B  # noise of the progress grids, apart from the evaluation's


def check_available() -> None:
    """Fails before anything is recorded when the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"--tensorboard needs the tensorboard package ({exc}); pip install tensorboard") from exc


class RunLogger:
    """The TensorBoard writer of one run."""

    def __init__(self, root: Path, run: dict[str, Any], gen: Generator, dataset: Dataset, seed: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        name = f"{run['id']}-{gen.name}-{run['dataset']}-seed{seed}"
        self.writer = SummaryWriter(log_dir=str(root / name))
        self.gen, self.dataset, self.seed = gen, dataset, seed
        self.conditions = dataset.test.get(torch.arange(GRID_SAMPLES)).conditions if gen.conditional else None

    def evaluation(self, record: dict[str, Any]) -> None:
        step = record["images_seen"]
        for key, value in record.items():
            if key.startswith(("train/", "val/")) and _is_number(value):
                self.writer.add_scalar(key, value, step)
        if _is_number(record.get("step_ms")):
            self.writer.add_scalar("time/step_ms", record["step_ms"], step)
        if record.get("wall_s"):
            self.writer.add_scalar("time/images_per_wall_s", step / record["wall_s"], step)
        if self.gen.trains:
            self.writer.add_image("samples", self._grid(), step, dataformats="HWC")
        self.writer.flush()

    def _grid(self) -> torch.Tensor:
        # Fixed noise: the same 16 samples at every evaluation. Sampling switches the
        # modules to eval mode; training goes on in train mode.
        samples, _ = draw_samples(self.gen, self.dataset, GRID_SAMPLES, mix_seed(self.seed, TENSORBOARD_STREAM),
                                  self.conditions)
        self.gen.train()
        return torch.from_numpy(grid(samples))

    def finish(self, images_seen: int, metrics: list[MetricValue], samples: torch.Tensor) -> None:
        for m in metrics:
            if _is_number(m.value):
                self.writer.add_scalar(f"metrics/{m.name}", m.value, images_seen)
        self.writer.add_image("final samples", torch.from_numpy(grid(samples[:64])), images_seen, dataformats="HWC")
        self.close()

    def close(self) -> None:
        self.writer.close()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
