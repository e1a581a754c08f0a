"""The training loop of one run: spends the budget (images seen with a wall-clock guard,
or seconds of training), evaluates on its schedule, checkpoints, stops early on
validation loss, and resumes."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import torch

from harness import progress
from harness.api import Dataset, Generator
from harness.budgets import Budget
from harness.errors import RunFailed
from harness.rng import mix_seed
from harness.timing import Stopwatch

VAL_BATCHES = 4


@dataclass
class TrainState:
    """The loop's counters; saved in every checkpoint so a resumed run continues exactly."""

    images_seen: int = 0
    steps: int = 0
    epoch: int = 0
    position: int = 0
    train_seconds: float = 0.0  # time inside train steps (throughput)
    wall_seconds: float = 0.0  # whole loop, across resumes (the budget's cap)
    best_val: float = math.inf
    evals_without_improvement: int = 0
    next_eval: int = 0
    stopped_by: str | None = None
    step_ms: list[float] = field(default_factory=list)
    finished: bool = False  # the final evaluation is done (and logged): a resume has nothing left


# What each field of a checkpoint's trainer state may hold, by its declared type.
_FIELD_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "int": (lambda v: type(v) is int and v >= 0, "a whole number >= 0"),
    "float": (lambda v: type(v) in (int, float) and 0 <= v < math.inf, "a finite number >= 0"),
    "bool": (lambda v: type(v) is bool, "true or false"),
    "str | None": (lambda v: v is None or isinstance(v, str), "a text or None"),
    "list[float]": (lambda v: isinstance(v, list) and all(type(x) in (int, float) for x in v), "a list of numbers"),
}


def checkpoint_problem(checkpoint: dict[str, Any]) -> str | None:
    """What is wrong with a loaded checkpoint's trainer state and RNG states, or None:
    a damaged one is set aside on resume (``RunRecorder.begin``), never half restored."""
    trainer, declared = checkpoint.get("trainer"), {f.name: f.type for f in fields(TrainState)}
    if not isinstance(trainer, dict) or set(trainer) != set(declared):
        keys = sorted(trainer) if isinstance(trainer, dict) else type(trainer).__name__
        return f"its trainer state has the keys {keys}, expected {sorted(declared)}"
    for name, kind in declared.items():
        fits, words = _FIELD_CHECKS[kind]
        value = trainer[name]
        if name == "best_val":  # inf until a validation loss is known; a loss may be negative
            fits, words = (lambda v: type(v) in (int, float) and not math.isnan(v)), "a number"
        if not fits(value):
            return f"its trainer state's {name} is {value!r}, expected {words}"
    cpu = checkpoint.get("torch_rng")
    if not (isinstance(cpu, torch.Tensor) and cpu.dtype == torch.uint8 and cpu.shape == torch.get_rng_state().shape):
        return "its torch_rng is not a CPU random-number generator state"
    cuda = checkpoint.get("cuda_rng")
    if cuda is not None and not (isinstance(cuda, list) and all(
            isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in cuda)):
        return "its cuda_rng is not a list of CUDA random-number generator states"
    return None


class TrainingLog(Protocol):
    """Where the loop's evaluations and checkpoints go (a ``RunRecorder``)."""

    def evaluation(self, record: dict[str, Any]) -> None: ...

    def checkpoint(self, images_seen: int, state: dict[str, Any]) -> Path: ...


class Trainer:
    """Runs ``generator.train_step`` until the budget is spent."""

    def __init__(self, generator: Generator, dataset: Dataset, budget: Budget, seed: int,
                 log: TrainingLog, show_progress: bool | None = None) -> None:
        self.gen, self.data, self.budget, self.seed = generator, dataset, budget, seed
        self.log = log
        self.show_progress = show_progress
        self.state = TrainState(next_eval=budget.eval_every)
        self._order: torch.Tensor | None = None
        self._logs: list[dict[str, float]] = []

    # -- checkpoints -------------------------------------------------------------------

    def checkpoint(self) -> Path:
        state = {
            "generator": self.gen.state_dict(),
            "trainer": asdict(self.state),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }
        return self.log.checkpoint(self.state.images_seen, state)

    def restore(self, checkpoint: dict[str, Any]) -> None:
        self.gen.load_state_dict(checkpoint["generator"])
        self.state = TrainState(**checkpoint["trainer"])
        torch.set_rng_state(checkpoint["torch_rng"])
        if checkpoint.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])

    # -- data order --------------------------------------------------------------------

    def _next_indices(self, batch_size: int) -> torch.Tensor:
        n = len(self.data.train)
        if batch_size > n:
            raise RunFailed(f"batch size {batch_size} exceeds the {n} training images")
        if self.state.position + batch_size > n:  # drop the last partial batch of an epoch
            self.state.epoch, self.state.position, self._order = self.state.epoch + 1, 0, None
        if self._order is None:  # the epoch's order is a function of (seed, epoch): resumable
            g = torch.Generator().manual_seed(mix_seed(self.seed, self.state.epoch))
            self._order = torch.randperm(n, generator=g)
        idx = self._order[self.state.position:self.state.position + batch_size]
        self.state.position += batch_size
        return idx

    # -- the loop ----------------------------------------------------------------------

    def _stop_reason(self) -> str | None:
        if self.state.stopped_by:
            return self.state.stopped_by
        if not self.gen.trains:
            return "no_training"
        if self.state.images_seen >= self.budget.images:
            return "images"
        if self.state.wall_seconds >= self.budget.wall_clock_s:
            return "wall_clock"
        return None

    def run(self) -> TrainState:
        s, device = self.state, self.gen.device
        if s.finished:  # resumed from the checkpoint after the final evaluation
            return s
        self.gen.train()
        # A time budget's images are only a ceiling: its bar counts images, with no end.
        total = self.budget.images if self.budget.kind == "images" else None
        bar = progress.bar(total, f"{self.gen.name}", s.images_seen, self.show_progress)
        started = time.perf_counter() - s.wall_seconds
        try:
            while (reason := self._stop_reason()) is None:
                batch = self.data.train.get(self._next_indices(self.gen.batch_size)).to(device)
                self.gen.budget_spent = max(s.images_seen / self.budget.images,
                                            s.wall_seconds / self.budget.wall_clock_s)
                with Stopwatch(device) as sw:
                    logs = self.gen.train_step(batch)
                self._check_finite(logs)
                s.images_seen += batch.images.shape[0]
                s.steps += 1
                s.train_seconds += sw.seconds
                s.step_ms.append(sw.seconds * 1000)
                s.wall_seconds = time.perf_counter() - started
                self._logs.append(logs)
                bar.update(batch.images.shape[0])
                if s.images_seen >= s.next_eval:
                    s.next_eval += self.budget.eval_every
                    self._evaluate()
                    s.wall_seconds = time.perf_counter() - started
            s.stopped_by = reason
        finally:
            bar.close()
        self._evaluate(final=True)
        return s

    def _check_finite(self, logs: dict[str, float]) -> None:
        for name, value in logs.items():
            if not math.isfinite(value):
                raise RunFailed(f"{name} became {value} at step {self.state.steps + 1}", step=self.state.steps + 1)

    def validation_loss(self) -> float | None:
        bs = self.gen.batch_size
        n = min(len(self.data.val), VAL_BATCHES * bs)
        if n == 0:
            return None
        losses = []
        with torch.no_grad():
            for start in range(0, n, bs):
                batch = self.data.val.get(torch.arange(start, min(n, start + bs))).to(self.gen.device)
                loss = self.gen.validation_loss(batch)
                if loss is None:
                    return None
                losses.append(loss)
        return float(statistics.fmean(losses))

    def _evaluate(self, final: bool = False) -> None:
        s = self.state
        record: dict[str, Any] = {"images_seen": s.images_seen, "steps": s.steps,
                                  "wall_s": round(s.wall_seconds, 3), "epoch": s.epoch}
        if self._logs:
            # Keys may differ between steps (a generator in stages logs each stage's own).
            for key in dict.fromkeys(k for log in self._logs for k in log):
                record[f"train/{key}"] = statistics.fmean(log[key] for log in self._logs if key in log)
            self._logs = []
        if s.step_ms:
            record["step_ms"] = statistics.median(s.step_ms[-200:])
        val = self.validation_loss()
        if val is not None:
            record["val/loss"] = val
            if val < s.best_val:
                s.best_val, s.evals_without_improvement = val, 0
            else:
                s.evals_without_improvement += 1
                patience = self.budget.early_stopping_patience
                if patience and s.evals_without_improvement >= patience and not final:
                    s.stopped_by = "early_stopping"
        record["final"] = final
        s.finished = final
        self.log.evaluation(record)
        self.checkpoint()
