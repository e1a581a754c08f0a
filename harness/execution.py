"""Executing one suite entry in this process: its run (plan -> ``recorder.begin`` ->
train -> evaluate -> ``recorder.finish``) and then its sampler variants. A worker process
calls this; so does ``--isolation none``. Whatever a plugin raises is recorded as the
run's failure, with its reason, and never escapes."""

from __future__ import annotations

import json
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness import env, trained
from harness.api import Dataset, Generator, RunInfo
from harness.api.executing import Entry, RunOutcome  # defined in the plugin API; imported from here too
from harness.errors import RunFailed
from harness.evaluation import evaluate
from harness.images import save_grid
from harness.metrics.features import default_cache_dir
from harness.plans import RunPlan, build_dataset
from harness.plugins import Host
from harness.records import MetricValue, ResultsStore, RunRecorder
from harness.records.recorder import describe_failure
from harness.tensorboard import RunLogger
from harness.timing import peak_memory_mb, reset_peak_memory
from harness.timing_columns import TIMING
from harness.training import Trainer, checkpoint_problem

GRID_SIZE = 64
# Reported to the supervisor as the entry moves on: (phase, seconds it may take).
PhaseCallback = Callable[[str, float], None]


@dataclass
class Trained:
    """A run's trained generator, kept for evaluating its sampler variants."""

    gen: Generator
    dataset: Dataset
    used: dict[str, Any]
    train_timing: dict[str, Any]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def _extra_metric(name: str, value: Any, source: str) -> MetricValue:
    """A generator's extra metric as recorded: a bare value is higher-is-better. Anything
    but a number (or None, for n/a) fails the run here rather than break every reader."""
    value, direction = value if isinstance(value, tuple) and len(value) == 2 else (value, "max")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise RunFailed(f"{source}.extra_metrics(): {name!r} is {value!r}, not a number (or None for n/a)")
    if direction not in ("min", "max"):
        raise RunFailed(f"{source}.extra_metrics(): {name!r} has direction {direction!r}, not 'min' or 'max'")
    return MetricValue(name, None if value is None else float(value), direction, "extra", details={"source": source})


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


class EntryExecutor:
    """Runs entries of one results store in this process."""

    def __init__(self, host: Host, store: ResultsStore, out_root: Path, device: torch.device,
                 show_progress: bool | None = None, tensorboard: Path | None = None,
                 on_phase: PhaseCallback | None = None) -> None:
        self.host, self.store, self.device = host, store, device
        self.show_progress, self.tensorboard = show_progress, tensorboard
        self.on_phase: PhaseCallback = on_phase or (lambda phase, seconds: None)
        self.cache_dir = default_cache_dir(out_root)
        self._datasets: dict[str, Dataset] = {}

    def dataset(self, name: str, options: dict[str, Any]) -> Dataset:
        key = json.dumps([name, options], sort_keys=True, default=str)
        if key not in self._datasets:
            self._datasets[key] = build_dataset(self.host, name, options)
        return self._datasets[key]

    def run(self, entry: Entry) -> list[RunOutcome]:
        """The entry's run, if it is unfinished, then its unfinished variants."""
        run = self.store.run(entry.run_id)
        outcomes, model = [], None
        if not run.done:
            recorder = RunRecorder.open(self.store, run.id)
            with recorder.dir.lock():
                plan = RunPlan.from_options(self.host, recorder.options)
                checkpoint = recorder.begin(env.collect(self.device, [plan.seed]), check=checkpoint_problem)
                outcome, model = self._execute(plan, recorder, checkpoint)
            outcomes.append(outcome)
            trained_ok = outcome.status == "ok"
        else:
            trained_ok = run.status == "ok"
        for variant_id in entry.variants:
            if self.store.run(variant_id).done:
                continue
            problem = None
            if model is None and trained_ok:
                model, problem = self._reload(run.id)
            outcomes.append(self._variant(variant_id, run.id, model if trained_ok else None, problem))
        return outcomes

    def _reload(self, run_id: str) -> tuple[Trained | None, str | None]:
        """A finished run's model, for variants evaluated in a later session, or why it
        could not be rebuilt."""
        run = self.store.run(run_id)
        self.on_phase("building", run.given.get("wall_clock_s", 0.0))
        try:
            gen, dataset = trained.load(self.host, run, self.device)
        except (Exception, SystemExit) as exc:
            return None, f"its trained model (run {run_id}) could not be rebuilt: {describe_failure(exc)}"
        timing = {m.name: m.value for m in self.store.metrics(run_id) if m.name in ("train_images_per_s", "step_ms")}
        return Trained(gen, dataset, run.used, timing), None

    def _measure(self, gen: Generator, dataset: Dataset, plan: RunPlan, recorder: RunRecorder,
                 train_timing: dict[str, Any], wall_s: float) -> tuple[list[MetricValue], torch.Tensor, dict]:
        """The evaluation of a trained generator: metrics, sample grids and timing."""
        self.on_phase("evaluating", plan.budget.wall_clock_s)
        started = time.perf_counter()
        ev = evaluate(gen, dataset, plan.budget.n_samples, plan.seed, list(self.host.metrics.values()),
                      cache_dir=self.cache_dir)
        save_grid(ev.samples[:GRID_SIZE], recorder.dir.samples_grid)
        if gen.conditional:
            save_grid(ev.real.images[:GRID_SIZE], recorder.dir.ground_truth_grid)
        extra = [_extra_metric(k, v, gen.name) for k, v in gen.extra_metrics().items()]
        timing = {**train_timing, **ev.sample_timing, "peak_mem_mb": peak_memory_mb(self.device),
                  "params": gen.parameter_count(), "wall_s": wall_s + time.perf_counter() - started}
        metrics = ev.metrics + extra + [MetricValue(k, v, TIMING[k].direction, "timing") for k, v in timing.items()]
        return metrics, ev.samples, ev.checks

    def _execute(self, plan: RunPlan, recorder: RunRecorder,
                 checkpoint: dict | None) -> tuple[RunOutcome, Trained | None]:
        run_info = RunInfo(id=recorder.run_id, run_dir=str(recorder.dir.path), options=recorder.options)
        self.on_phase("building", plan.budget.wall_clock_s)  # from here on, plugin code runs under a deadline
        self.host.notify_started(run_info)
        seed_everything(plan.seed)
        reset_peak_memory(self.device)
        started = time.perf_counter()
        trainer = tb = model = None
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
            self.on_phase("training", plan.budget.wall_clock_s - earlier_sessions_s)
            state = trainer.run()
            train_timing = {
                "train_images_per_s": state.images_seen / state.train_seconds if state.train_seconds else None,
                "step_ms": float(np.median(state.step_ms)) if state.step_ms else None,
            }
            metrics, samples, checks = self._measure(gen, dataset, plan, recorder, train_timing,
                                                     earlier_sessions_s + time.perf_counter() - started)
            used = {"images_seen": state.images_seen, "steps": state.steps, "epochs": state.epoch,
                    "train_s": state.train_seconds, "wall_s": _value(metrics, "wall_s"),
                    "stopped_by": state.stopped_by, "setting": gen.setting(), **checks}
            recorder.finish(used, metrics)
            if tb is not None:
                tb.finish(state.images_seen, metrics, samples)
            outcome = RunOutcome(recorder.run_id, recorder.dir.path, "ok", metrics={m.name: m.value for m in metrics})
            model = Trained(gen, dataset, used, train_timing)
        except KeyboardInterrupt:
            recorder.interrupt(self._used(trainer))
            raise
        except (Exception, SystemExit) as exc:  # isolate: record the failure, keep the suite going
            outcome = self._failed(recorder, exc, self._used(trainer))
        finally:
            if tb is not None:
                tb.close()
        self.host.notify_finished(run_info, outcome.status, outcome.metrics)
        return outcome, model

    @staticmethod
    def _failed(recorder: RunRecorder, exc: BaseException, used: dict) -> RunOutcome:
        step = exc.step if isinstance(exc, RunFailed) else None
        reason = exc.reason if isinstance(exc, RunFailed) else describe_failure(exc)
        recorder.fail(reason, used, traceback.format_exc(), step)
        return RunOutcome(recorder.run_id, recorder.dir.path, "failed", reason)

    def _variant(self, run_id: str, trained_in: str, model: Trained | None, problem: str | None = None) -> RunOutcome:
        """A sampler variant, as a run of its own: a generator built with the variant's
        config and the trained weights, the training record copied, evaluated again."""
        recorder = RunRecorder.open(self.store, run_id)
        if model is None:
            reason = f"not evaluated: {problem or f'the run that trains its model ({trained_in}) failed'}"
            recorder.fail(reason, {"trained_in": trained_in}, reason)
            return RunOutcome(run_id, recorder.dir.path, "failed", reason)
        with recorder.dir.lock():
            variant = RunPlan.from_options(self.host, recorder.options)
            recorder.begin(env.collect(self.device, [variant.seed]))
            run_info = RunInfo(id=run_id, run_dir=str(recorder.dir.path), options=recorder.options)
            self.on_phase("building", variant.budget.wall_clock_s)
            self.host.notify_started(run_info)
            try:
                gen = variant.generator(model.dataset, self.device, variant.config)
                gen.load_state_dict(model.gen.state_dict())
                recorder.start(gen.config)
                metrics, _, checks = self._measure(gen, model.dataset, variant, recorder, model.train_timing, 0.0)
                used = {**model.used, "setting": gen.setting(), "trained_in": trained_in,
                        "wall_s": _value(metrics, "wall_s"), **checks}
                recorder.finish(used, metrics)
                outcome = RunOutcome(run_id, recorder.dir.path, "ok", metrics={m.name: m.value for m in metrics})
            except KeyboardInterrupt:
                recorder.interrupt({"trained_in": trained_in})
                raise
            except (Exception, SystemExit) as exc:
                outcome = self._failed(recorder, exc, {"trained_in": trained_in})
            self.host.notify_finished(run_info, outcome.status, outcome.metrics)
        return outcome

    @staticmethod
    def _used(trainer: Trainer | None) -> dict:
        if trainer is None:
            return {}
        s = trainer.state
        return {"images_seen": s.images_seen, "steps": s.steps, "wall_s": s.wall_seconds}
