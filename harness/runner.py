"""Runs a suite: every entry x seed under the same budget, each isolated so that one
failing generator is recorded as failed (with its reason) and the suite goes on."""

from __future__ import annotations

import dataclasses
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

from harness import env, rundir
from harness.api import Dataset, Generator
from harness.budgets import Budget
from harness.errors import RunFailed, UsageError
from harness.evaluation import TIMING, evaluate
from harness.images import save_grid
from harness.metrics.features import default_cache_dir
from harness.plugins import Host
from harness.results import ResultsStore
from harness.suites import Suite
from harness.tensorboard import RunLogger
from harness.timing import peak_memory_mb, reset_peak_memory
from harness.training import Trainer

GRID_SIZE = 64


@dataclass
class RunPlan:
    """One run, resolved and validated before anything is written."""

    suite: str
    generator: type[Generator]
    dataset: str
    dataset_options: dict[str, Any]
    config: dict[str, Any]
    budget: Budget
    seed: int
    # Sampling-only overrides, each evaluated on this run's trained model as a run of its own.
    samplers: tuple[dict[str, Any], ...] = ()

    def options(self, device: torch.device) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "generator": self.generator.name,
            "config": {**self.generator.default_config, **self.config},
            "dataset": self.dataset,
            "dataset_options": self.dataset_options,
            "budget": self.budget.as_dict(),
            "seed": self.seed,
            "device": str(device),
            "samplers": list(self.samplers),
        }


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
    metrics: dict[str, float] = field(default_factory=dict)


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


def plan_suite(host: Host, suite: Suite) -> list[RunPlan]:
    """Every run of a suite, resolved and validated (unknown names, options and config
    keys are UsageErrors) before anything is recorded."""
    plans = []
    for entry in suite.entries:
        gen_cls = host.generator(entry.generator)
        spec = host.dataset(entry.dataset)
        allowed = set(spec.defaults) | {"split_seed"}
        unknown = sorted(set(entry.dataset_options) - allowed)
        if unknown:
            raise UsageError(f"dataset {entry.dataset!r}: unknown option(s) {', '.join(unknown)}; "
                             f"expected some of {', '.join(sorted(allowed))}")
        bad = sorted(set(entry.config) - set(gen_cls.default_config))
        if bad:
            raise UsageError(f"generator {entry.generator!r}: unknown config key(s) {', '.join(bad)}; "
                             f"expected some of {', '.join(sorted(gen_cls.default_config))}")
        for variant in entry.samplers:
            not_sampling = sorted(set(variant) - set(gen_cls.sampling_keys))
            if not_sampling:
                raise UsageError(f"generator {entry.generator!r}: samplers may only set its sampling keys "
                                 f"({', '.join(gen_cls.sampling_keys) or 'it has none'}), not "
                                 f"{', '.join(not_sampling)}")
        options = {**spec.defaults, **entry.dataset_options}
        for seed in entry.seeds or suite.seeds:
            plans.append(RunPlan(suite.name, gen_cls, entry.dataset, options, dict(entry.config),
                                 suite.budget, seed, entry.samplers))
    return plans


def _extra_metric(name: str, value: Any, source: str) -> dict[str, Any]:
    """A generator's extra metric as recorded: a bare value is higher-is-better."""
    value, direction = value if isinstance(value, tuple) else (value, "max")
    return {"name": name, "value": value, "direction": direction, "details": {"source": source}}


def _value(metrics: list[dict[str, Any]], name: str) -> Any:
    return next(m["value"] for m in metrics if m["name"] == name)


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
        rundir.check_writable(self.out_root)
        for plan in plans:  # dataset options are checked by building, before any record
            self.dataset(plan.dataset, plan.dataset_options)
        suite_run = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.store.add_suite_run(suite_run, suite.name, label, suite.budget.name,
                                 {"source": suite.source, "runs": len(plans)},
                                 env.collect(self.device, sorted({p.seed for p in plans})))
        outcomes = [outcome for plan in plans for outcome in self.start(plan, suite_run)]
        self.store.finish_suite_run(suite_run)
        return suite_run, outcomes

    def _create(self, plan: RunPlan, suite_run: str, **extra: Any) -> tuple[str, Path, dict[str, Any]]:
        """A new run: its directory, options.json and database row."""
        run_id, run_dir = rundir.make(self.out_root, plan.suite, plan.generator.name, plan.dataset)
        options = plan.options(self.device) | {"run_id": run_id, "suite_run": suite_run} | extra
        rundir.write_json(run_dir / "options.json", options)
        record = {
            "id": run_id, "suite_run": suite_run, "generator": plan.generator.name,
            "dataset": plan.dataset, "budget": plan.budget.name, "seed": plan.seed,
            "run_dir": str(run_dir), "options": options, "given": plan.budget.as_dict(),
            "env": env.collect(self.device, [plan.seed]),
        }
        self.store.add_run(record)
        return run_id, run_dir, options

    def start(self, plan: RunPlan, suite_run: str) -> list[RunOutcome]:
        """The run, then its sampler variants (when it trained): one outcome each."""
        run_id, run_dir, options = self._create(plan, suite_run)
        outcome, trained = self._execute(plan, run_id, run_dir, options, None)
        return [outcome, *self._variants(plan, suite_run, run_id, trained)]

    def resume(self, run_ref: str) -> list[RunOutcome]:
        run_dir = Path(run_ref)
        if (run_dir / "options.json").is_file():
            run_id = json.loads((run_dir / "options.json").read_text())["run_id"]
        else:
            row = self.store.run(run_ref)
            if row is None:
                raise UsageError(f"no run {run_ref!r} in {self.store.path} (give a run id or a run directory)")
            run_id, run_dir = row["id"], Path(row["run_dir"])
        row = self.store.run(run_id)
        if row is None:
            raise UsageError(f"run {run_id} is not in {self.store.path}; pass the --db it was recorded in")
        if row["status"] == "ok":
            raise UsageError(f"run {run_id} already finished; nothing to resume")
        options = json.loads((run_dir / "options.json").read_text())
        budget = Budget(**{**options["budget"], "seeds": tuple(options["budget"]["seeds"])})
        plan = RunPlan(options["suite"], self.host.generator(options["generator"]), options["dataset"],
                       options["dataset_options"], options["config"], budget, options["seed"],
                       tuple(options.get("samplers", ())))
        ckpt_path = rundir.latest_checkpoint(run_dir)
        checkpoint = rundir.load_checkpoint(ckpt_path) if ckpt_path else None
        self.store.mark_resumed(run_id, env.collect(self.device, [plan.seed]))
        outcome, trained = self._execute(plan, run_id, run_dir, options, checkpoint)
        return [outcome, *self._variants(plan, row["suite_run"], run_id, trained)]

    def _measure(self, gen: Generator, dataset: Dataset, plan: RunPlan, run_dir: Path,
                 train_timing: dict[str, Any], wall_s: float) -> tuple[list[dict[str, Any]], torch.Tensor]:
        """The evaluation of a trained generator: metrics, sample grids and timing."""
        started = time.perf_counter()
        ev = evaluate(gen, dataset, plan.budget.n_samples, plan.seed, list(self.host.metrics.values()),
                      cache_dir=self.cache_dir)
        save_grid(ev.samples[:GRID_SIZE], run_dir / "samples.png")
        if gen.conditional:
            save_grid(ev.real.images[:GRID_SIZE], run_dir / "ground_truth.png")
        extra = [_extra_metric(k, v, gen.name) for k, v in gen.extra_metrics().items()]
        timing = {**train_timing, **ev.sample_timing, "peak_mem_mb": peak_memory_mb(self.device),
                  "params": gen.parameter_count(), "wall_s": wall_s + time.perf_counter() - started}
        metrics = ev.metrics + extra + [
            {"name": k, "value": v, "direction": TIMING[k][0], "details": {}} for k, v in timing.items()
        ]
        return metrics, ev.samples

    def _execute(self, plan: RunPlan, run_id: str, run_dir: Path, options: dict,
                 checkpoint: dict | None) -> tuple[RunOutcome, Trained | None]:
        run_info = {"id": run_id, "run_dir": str(run_dir), "options": options}
        self.host.notify_started(run_info)
        seed_everything(plan.seed)
        reset_peak_memory(self.device)
        started = time.perf_counter()
        trainer = tb = trained = None
        try:
            dataset = self.dataset(plan.dataset, plan.dataset_options)
            gen = plan.generator(dataset, self.device, plan.config)
            if gen.config != options["config"]:  # values the generator resolved ("auto") are recorded
                rundir.write_json(run_dir / "options.json", options | {"config": gen.config})
            if self.tensorboard is not None:
                tb = RunLogger(self.tensorboard, {"id": run_id, "dataset": plan.dataset}, gen, dataset, plan.seed)

            def on_evaluation(record: dict[str, Any]) -> None:
                self.store.add_evaluation(run_id, record["images_seen"], record["wall_s"], record)
                if tb is not None:
                    tb.evaluation(record)

            trainer = Trainer(gen, dataset, plan.budget, plan.seed, run_dir, on_evaluation=on_evaluation,
                              show_progress=self.show_progress)
            if checkpoint is not None:
                trainer.restore(checkpoint)
            earlier_sessions_s = trainer.state.wall_seconds
            state = trainer.run()
            train_timing = {
                "train_images_per_s": state.images_seen / state.train_seconds if state.train_seconds else None,
                "step_ms": float(np.median(state.step_ms)) if state.step_ms else None,
            }
            metrics, samples = self._measure(gen, dataset, plan, run_dir, train_timing,
                                             earlier_sessions_s + time.perf_counter() - started)
            used = {"images_seen": state.images_seen, "steps": state.steps, "epochs": state.epoch,
                    "train_s": state.train_seconds, "wall_s": _value(metrics, "wall_s"), "stopped_by": state.stopped_by,
                    "setting": gen.setting()}
            self.store.finish_run(run_id, "ok", used, metrics)
            if tb is not None:
                tb.finish(state.images_seen, metrics, samples)
            outcome = RunOutcome(run_id, run_dir, "ok", metrics={m["name"]: m["value"] for m in metrics})
            trained = Trained(gen, dataset, used, train_timing)
        except KeyboardInterrupt:
            self.store.finish_run(run_id, "interrupted", self._used(trainer), [],
                                  reason=f"interrupted; continue with: genbench run --resume {run_id}")
            raise
        except Exception as exc:  # isolate: record the failure, keep the suite going
            outcome = self._failed(run_id, run_dir, exc, self._used(trainer))
        finally:
            if tb is not None:
                tb.close()
        self.host.notify_finished(run_info, outcome.status, outcome.metrics)
        return outcome, trained

    def _failed(self, run_id: str, run_dir: Path, exc: Exception, used: dict) -> RunOutcome:
        step = exc.step if isinstance(exc, RunFailed) else None
        reason = exc.reason if isinstance(exc, RunFailed) else f"{type(exc).__name__}: {exc}"
        (run_dir / "error.txt").write_text(traceback.format_exc())
        self.store.finish_run(run_id, "failed", used, [], reason=reason, failed_step=step)
        return RunOutcome(run_id, run_dir, "failed", reason)

    def _variants(self, plan: RunPlan, suite_run: str, trained_in: str, trained: Trained | None) -> list[RunOutcome]:
        """Each sampler variant of a trained run, as a run of its own: the same model,
        the training record copied, the evaluation done again with the overrides."""
        if trained is None or not plan.samplers:
            return []
        gen, outcomes = trained.gen, []
        for overrides in plan.samplers:
            variant = dataclasses.replace(plan, config={**plan.config, **overrides}, samplers=())
            run_id, run_dir, options = self._create(variant, suite_run, trained_in=trained_in)
            run_info = {"id": run_id, "run_dir": str(run_dir), "options": options}
            self.host.notify_started(run_info)
            saved = dict(gen.config)
            gen.config.update(overrides)
            try:
                metrics, _ = self._measure(gen, trained.dataset, variant, run_dir, trained.train_timing, 0.0)
                used = {**trained.used, "setting": gen.setting(), "trained_in": trained_in,
                        "wall_s": _value(metrics, "wall_s")}
                self.store.finish_run(run_id, "ok", used, metrics)
                outcome = RunOutcome(run_id, run_dir, "ok", metrics={m["name"]: m["value"] for m in metrics})
            except Exception as exc:
                outcome = self._failed(run_id, run_dir, exc, {"trained_in": trained_in})
            finally:
                gen.config.clear()
                gen.config.update(saved)
            self.host.notify_finished(run_info, outcome.status, outcome.metrics)
            outcomes.append(outcome)
        return outcomes

    @staticmethod
    def _used(trainer: Trainer | None) -> dict:
        if trainer is None:
            return {}
        s = trainer.state
        return {"images_seen": s.images_seen, "steps": s.steps, "wall_s": s.wall_seconds}
