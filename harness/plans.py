"""Planning a suite: every entry x seed resolved into a ``RunPlan`` and validated
(unknown names, options and config keys are UsageErrors) before anything is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from harness.api import Generator
from harness.budgets import Budget
from harness.errors import UsageError
from harness.plugins import Host, class_path_of
from harness.suites import Suite


@dataclass(frozen=True)
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
        """What the run's ``options.json`` holds; :meth:`from_options` reads it back."""
        return {
            "suite": self.suite,
            "generator": self.generator.name,
            "generator_class": class_path_of(self.generator),  # which one, when two plugins share the name
            "config": {**self.generator.default_config, **self.config},
            "dataset": self.dataset,
            "dataset_options": self.dataset_options,
            "budget": self.budget.as_dict(),
            "seed": self.seed,
            "device": str(device),
            "samplers": list(self.samplers),
        }

    @classmethod
    def from_options(cls, host: Host, options: dict[str, Any]) -> RunPlan:
        """The plan a run's options were written from (the inverse of :meth:`options`)."""
        try:
            budget = Budget(**{**options["budget"], "seeds": tuple(options["budget"]["seeds"])})
            return cls(options["suite"], host.generator(options["generator"], options.get("generator_class")),
                       options["dataset"], dict(options["dataset_options"]), dict(options["config"]), budget,
                       int(options["seed"]), tuple(options.get("samplers", ())))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"the run's options are incomplete or damaged ({type(exc).__name__}: {exc})") from exc


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
