"""Runs a suite: every entry x seed under the same budget, each isolated so that one
failing generator is recorded as failed (with its reason) and the suite goes on.

A run is: plan -> ``recorder.start`` -> train -> evaluate -> ``recorder.finish``. The
records layer (``harness.records``) owns every file and row a run leaves behind."""

from __future__ import annotations

import json
import random
import secrets
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness import env
from harness.api import Dataset, Generator
from harness.errors import RunFailed, UsageError
from harness.evaluation import evaluate
from harness.images import save_grid
from harness.metrics.features import default_cache_dir
from harness.plans import RunPlan
from harness.plugins import Host
from harness.records import MetricValue, ResultsStore, RunRecorder, check_writable
from harness.suites import Suite
from harness.tensorboard import RunLogger
from harness.timing import peak_memory_mb, reset_peak_memory
from harness.timing_columns import TIMING
from harness.training import Trainer

GRID_SIZE = 64


@dataclass
class Trained:
    """A run's trained generator, kept for evaluating its sampler variants."""

    gen: Generator
    dataset: Dataset
    used: dict[str, Any]
    train_timing: dict[str, Any]


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    status: str
    reason: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise UsageError(f"unknown device {name!r}; expected cpu, cuda, cuda:N or auto")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device {name!r} requested but no CUDA GPU is available; use --device cpu")
    return torch.device(name)


def _extra_metric(name: str, value: Any, source: str) -> MetricValue:
    """A generator's extra metric as recorded: a bare value is higher-is-better."""
    value, direction = value if isinstance(value, tuple) else (value, "max")
    return MetricValue(name, value, direction, "extra", details={"source": source})


def _value(metrics: list[MetricValue], name: str) -> float | None:
    return next(m.value for m in metrics if m.name == name)


class _Fanout:
    """The training loop's log: the recorder, and TensorBoard when asked for."""

    def __init__(self, recorder: RunRecorder, tb: RunLogger | None) -> None:
        self.recorder, self.tb = recorder, tb

    def evaluation(self, record: dict[str, Any]) -> None:
        self.recorder.evaluation(record)
        if self.tb is not None:
            self.tb.evaluation(record)

    def checkpoint(self, images_seen: int, state: dict[str, Any]) -> Path:
        return self.recorder.checkpoint(images_seen, state)


class SuiteRunner:
    def __init__(self, host: Host, store: ResultsStore, out_root: Path, device: torch.device,
                 show_progress: bool | None = None, tensorboard: Path | None = None) -> None:
        self.host, self.store, self.out_root, self.device = host, store, out_root, device
        self.show_progress = show_progress
        self.tensorboard = tensorboard
        self._datasets: dict[str, Dataset] = {}
        self.cache_dir = default_cache_dir(out_root)

    def dataset(self, name: str, options: dict[str, Any]) -> Dataset:
        key = json.dumps([name, options], sort_keys=True)
        if key not in self._datasets:
            opts = dict(options)
            split_seed = opts.pop("split_seed", 0)
            try:
                self._datasets[key] = self.host.dataset(name).build(seed=split_seed, **opts)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"dataset {name!r} with options {options}: {exc}") from exc
        return self._datasets[key]

    # -- running -----------------------------------------------------------------------

    def run_suite(self, suite: Suite, plans: list[RunPlan], label: str | None = None) -> tuple[str, list[RunOutcome]]:
        check_writable(self.out_root)
        for plan in plans:  # dataset options are checked by building, before any record
            self.dataset(plan.dataset, plan.dataset_options)
        suite_run = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.store.add_suite_run(suite_run, suite.name, label, suite.budget.name,
                                 {"source": suite.source, "runs": len(plans)},
                                 env.collect(self.device, sorted({p.seed for p in plans})))
        outcomes = [outcome for plan in plans for outcome in self.run_plan(plan, suite_run)]
        self.store.finish_suite_run(suite_run)
        return suite_run, outcomes

    def _recorder(self, plan: RunPlan, suite_run: str, **extra: Any) -> RunRecorder:
        options = plan.options(self.device) | {"suite_run": suite_run} | extra
        return RunRecorder.create(self.store, self.out_root, options, env.collect(self.device, [plan.seed]))

    def run_plan(self, plan: RunPlan, suite_run: str) -> list[RunOutcome]:
        """The run to its end, then its sampler variants (when it trained): one outcome each."""
        recorder = self._recorder(plan, suite_run)
        outcome, trained = self._execute(plan, recorder, None)
        return [outcome, *self._variants(plan, suite_run, recorder.run_id, trained)]

    def resume(self, ref: str) -> list[RunOutcome]:
        """Continues an unfinished run from its latest checkpoint (or from the start)."""
        recorder, run = RunRecorder.reopen(self.store, ref)
        plan = RunPlan.from_options(self.host, recorder.options)
        checkpoint = recorder.resumed(env.collect(self.device, [plan.seed]))
        outcome, trained = self._execute(plan, recorder, checkpoint)
        return [outcome, *self._variants(plan, run.suite_run, recorder.run_id, trained)]

    def _measure(self, gen: Generator, dataset: Dataset, plan: RunPlan, recorder: RunRecorder,
                 train_timing: dict[str, Any], wall_s: float) -> tuple[list[MetricValue], torch.Tensor]:
        """The evaluation of a trained generator: metrics, sample grids and timing."""
        started = time.perf_counter()
        ev = evaluate(gen, dataset, plan.budget.n_samples, plan.seed, list(self.host.metrics.values()),
                      cache_dir=self.cache_dir)
        save_grid(ev.samples[:GRID_SIZE], recorder.dir.samples_grid)
        if gen.conditional:
            save_grid(ev.real.images[:GRID_SIZE], recorder.dir.ground_truth_grid)
        extra = [_extra_metric(k, v, gen.name) for k, v in gen.extra_metrics().items()]
        timing = {**train_timing, **ev.sample_timing, "peak_mem_mb": peak_memory_mb(self.device),
                  "params": gen.parameter_count(), "wall_s": wall_s + time.perf_counter() - started}
        metrics = ev.metrics + extra + [
            MetricValue(k, v, TIMING[k].direction, "timing") for k, v in timing.items()
        ]
        return metrics, ev.samples

    def _execute(self, plan: RunPlan, recorder: RunRecorder,
                 checkpoint: dict | None) -> tuple[RunOutcome, Trained | None]:
        run_info = {"id": recorder.run_id, "run_dir": str(recorder.dir.path), "options": recorder.options}
        self.host.notify_started(run_info)
        seed_everything(plan.seed)
        reset_peak_memory(self.device)
        started = time.perf_counter()
        trainer = tb = trained = None
        try:
            dataset = self.dataset(plan.dataset, plan.dataset_options)
            gen = plan.generator(dataset, self.device, plan.config)
            recorder.start(gen.config)
            if self.tensorboard is not None:
                tb = RunLogger(self.tensorboard, {"id": recorder.run_id, "dataset": plan.dataset}, gen, dataset,
                               plan.seed)
            trainer = Trainer(gen, dataset, plan.budget, plan.seed, _Fanout(recorder, tb),
                              show_progress=self.show_progress)
            if checkpoint is not None:
                trainer.restore(checkpoint)
            earlier_sessions_s = trainer.state.wall_seconds
            state = trainer.run()
            train_timing = {
                "train_images_per_s": state.images_seen / state.train_seconds if state.train_seconds else None,
                "step_ms": float(np.median(state.step_ms)) if state.step_ms else None,
            }
            metrics, samples = self._measure(gen, dataset, plan, recorder, train_timing,
                                             earlier_sessions_s + time.perf_counter() - started)
            used = {"images_seen": state.images_seen, "steps": state.steps, "epochs": state.epoch,
                    "train_s": state.train_seconds, "wall_s": _value(metrics, "wall_s"),
                    "stopped_by": state.stopped_by, "setting": gen.setting()}
            recorder.finish(used, metrics)
            if tb is not None:
                tb.finish(state.images_seen, metrics, samples)
            outcome = RunOutcome(recorder.run_id, recorder.dir.path, "ok", metrics={m.name: m.value for m in metrics})
            trained = Trained(gen, dataset, used, train_timing)
        except KeyboardInterrupt:
            recorder.interrupt(self._used(trainer))
            raise
        except Exception as exc:  # isolate: record the failure, keep the suite going
            outcome = self._failed(recorder, exc, self._used(trainer))
        finally:
            if tb is not None:
                tb.close()
        self.host.notify_finished(run_info, outcome.status, outcome.metrics)
        return outcome, trained

    @staticmethod
    def _failed(recorder: RunRecorder, exc: Exception, used: dict) -> RunOutcome:
        step = exc.step if isinstance(exc, RunFailed) else None
        reason = exc.reason if isinstance(exc, RunFailed) else f"{type(exc).__name__}: {exc}"
        recorder.fail(reason, used, traceback.format_exc(), step)
        return RunOutcome(recorder.run_id, recorder.dir.path, "failed", reason)

    def _variants(self, plan: RunPlan, suite_run: str, trained_in: str, trained: Trained | None) -> list[RunOutcome]:
        """Each sampler variant of a trained run, as a run of its own: a generator built
        with the variant's config and the trained weights, the training record copied,
        the evaluation done again."""
        if trained is None or not plan.samplers:
            return []
        outcomes = []
        for overrides in plan.samplers:
            variant = RunPlan(plan.suite, plan.generator, plan.dataset, plan.dataset_options,
                              {**plan.config, **overrides}, plan.budget, plan.seed)
            recorder = self._recorder(variant, suite_run, trained_in=trained_in)
            run_info = {"id": recorder.run_id, "run_dir": str(recorder.dir.path), "options": recorder.options}
            self.host.notify_started(run_info)
            try:
                gen = variant.generator(trained.dataset, self.device, variant.config)
                gen.load_state_dict(trained.gen.state_dict())
                recorder.start(gen.config)
                metrics, _ = self._measure(gen, trained.dataset, variant, recorder, trained.train_timing, 0.0)
                used = {**trained.used, "setting": gen.setting(), "trained_in": trained_in,
                        "wall_s": _value(metrics, "wall_s")}
                recorder.finish(used, metrics)
                outcome = RunOutcome(recorder.run_id, recorder.dir.path, "ok",
                                     metrics={m.name: m.value for m in metrics})
            except Exception as exc:
                outcome = self._failed(recorder, exc, {"trained_in": trained_in})
            self.host.notify_finished(run_info, outcome.status, outcome.metrics)
            outcomes.append(outcome)
        return outcomes

    @staticmethod
    def _used(trainer: Trainer | None) -> dict:
        if trainer is None:
            return {}
        s = trainer.state
        return {"images_seen": s.images_seen, "steps": s.steps, "wall_s": s.wall_seconds}
