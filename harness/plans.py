"""Planning a suite: every entry x seed resolved into a ``RunPlan`` and validated
(unknown names, options and config keys are UsageErrors) before anything is recorded."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch

from harness import limits
from harness.api import Dataset, Generator
from harness.budgets import Budget
from harness.errors import UsageError
from harness.plugins import Host, class_path_of
from harness.requirements import DatasetShape, mismatch
from harness.suites import Suite
from harness.timing_columns import TIMING


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
    # The metric that ranks it: the suite's rank_by, else its dataset's.
    rank_by: str = ""
    # What an executor that schedules reserves for it (the suite entry's resources).
    resources: dict[str, float] = field(default_factory=dict)
    # The suite entry it came from ("suite.toml, line 12 ([[entry]] #3)"), for errors.
    where: str = field(default="", compare=False)

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
            "rank_by": self.rank_by,
            # Only where the entry asks for some: the options of every other run stay as they were.
            **({"resources": dict(self.resources)} if self.resources else {}),
        }

    @classmethod
    def from_options(cls, host: Host, options: dict[str, Any]) -> RunPlan:
        """The plan a run's options were written from (the inverse of :meth:`options`)."""
        try:
            budget = Budget(**{**options["budget"], "seeds": tuple(options["budget"]["seeds"])})
            return cls(options["suite"], host.generator(options["generator"], options.get("generator_class")),
                       options["dataset"], dict(options["dataset_options"]), dict(options["config"]), budget,
                       int(options["seed"]), tuple(options.get("samplers", ())), options.get("rank_by") or "",
                       resources=dict(options.get("resources") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"the run's options are incomplete or damaged ({type(exc).__name__}: {exc})") from exc


def plan_suite(host: Host, suite: Suite) -> list[RunPlan]:
    """Every run of a suite, resolved and validated before anything is recorded: unknown
    names, options and config keys, values of the wrong type, dataset options its
    dataset refuses (each dataset is built once), a dataset its generator does not fit
    (``Generator.requires``) and an unknown ranking metric are UsageErrors naming the
    entry's file and line."""
    plans, shapes, unmeasured = [], {}, set()
    if suite.rank_by is not None:
        _check_ranking(host, suite.rank_by)
    for entry in suite.entries:
        try:
            gen_cls, options = _check_entry(host, entry)
            rank_by = suite.rank_by or host.dataset(entry.dataset).rank_by
            if not _measured(host, rank_by) and rank_by not in unmeasured:
                # A disabled plugin's metric, or one two plugins provide (a clash): not an
                # error, the suite may still be worth running, but said before it runs.
                unmeasured.add(rank_by)
                warnings.warn(f"dataset {entry.dataset!r} ranks by {rank_by}, which no installed plugin measures"
                              f"{host.why_unmeasured(rank_by)}: its rows will not be ranked (rank by another "
                              "metric with --rank-by)", stacklevel=1)
            key = json.dumps([entry.dataset, options], sort_keys=True, default=str)
            if key not in shapes:
                shapes[key] = DatasetShape.of(build_dataset(host, entry.dataset, options))
            unfit = mismatch(gen_cls, shapes[key], entry.dataset)
            if unfit:
                raise UsageError(unfit)
        except UsageError as exc:
            raise UsageError(f"{entry.where}: {exc}" if entry.where else str(exc)) from None
        for seed in entry.seeds or suite.seeds:
            plans.append(RunPlan(suite.name, gen_cls, entry.dataset, options, dict(entry.config),
                                 suite.budget, seed, entry.samplers, rank_by, dict(entry.resources), entry.where))
    return plans


def _measured(host: Host, metric: str) -> bool:
    """Whether a column of that name is measured: a metric of an installed plugin, or timing."""
    return metric in host.metrics or metric in TIMING


def _check_ranking(host: Host, metric: str) -> None:
    """A suite's ranking metric (its ``rank_by``, or ``--rank-by``) must be one the
    installed plugins measure, or a timing column: a typo would otherwise leave every
    leaderboard of the suite unranked."""
    if not _measured(host, metric):
        raise UsageError(f"unknown ranking metric {metric!r} (the suite's rank_by or --rank-by)"
                         f"{host.why_unmeasured(metric)}; metrics: {', '.join(sorted(host.metrics))}, or a timing "
                         f"column: {', '.join(TIMING)}")


def build_dataset(host: Host, name: str, options: dict[str, Any]) -> Dataset:
    """A dataset built with a plan's options (``split_seed`` seeds its split); options it
    refuses are a UsageError."""
    opts = dict(options)
    split_seed = opts.pop("split_seed", 0)
    try:
        return host.dataset(name).build(seed=split_seed, **opts)
    except UsageError:
        raise
    except Exception as exc:  # a plugin's dataset refusing its options, in its own words
        raise UsageError(f"dataset {name!r} with options {options}: cannot be built "
                         f"({type(exc).__name__}: {exc})") from exc


def _check_entry(host: Host, entry) -> tuple[type[Generator], dict[str, Any]]:
    gen_cls = host.generator(entry.generator)
    spec = host.dataset(entry.dataset)
    defaults = {**spec.defaults, "split_seed": 0}
    unknown = sorted(set(entry.dataset_options) - set(defaults))
    if unknown:
        raise UsageError(f"dataset {entry.dataset!r}: unknown option(s) {', '.join(unknown)}; "
                         f"expected some of {', '.join(sorted(defaults))}")
    for key, value in entry.dataset_options.items():
        _check_type(f"dataset {entry.dataset!r} option {key!r}", value, defaults[key])
    if "split_seed" in entry.dataset_options:
        limits.SEED.check(entry.dataset_options["split_seed"], f"dataset {entry.dataset!r} option 'split_seed'")
    bad = sorted(set(entry.config) - set(gen_cls.default_config))
    if bad:
        raise UsageError(f"generator {entry.generator!r}: unknown config key(s) {', '.join(bad)}; "
                         f"expected some of {', '.join(sorted(gen_cls.default_config))}")
    for key, value in entry.config.items():
        _check_type(f"generator {entry.generator!r} config key {key!r}", value, gen_cls.default_config[key])
    for variant in entry.samplers:
        not_sampling = sorted(set(variant) - set(gen_cls.sampling_keys))
        if not_sampling:
            raise UsageError(f"generator {entry.generator!r}: samplers may only set its sampling keys "
                             f"({', '.join(gen_cls.sampling_keys) or 'it has none'}), not "
                             f"{', '.join(not_sampling)}")
        for key, value in variant.items():
            _check_type(f"generator {entry.generator!r} sampler key {key!r}", value, gen_cls.default_config[key])
    return gen_cls, {**spec.defaults, **entry.dataset_options}


# A value must be of its default's kind: (default's type, what a value may be, in words).
# bool comes first, and a bool is no number: TOML's true is not 1.
_KINDS = (
    (bool, (bool,), "true or false"),
    (int, (int,), "a whole number"),
    (float, (int, float), "a number"),
    (str, (str,), "text"),
    ((list, tuple), (list, tuple), "a list"),
    (dict, (dict,), "a table"),
)


def _check_type(what: str, value: Any, default: Any) -> None:
    """A value of the kind its default is; a default of None (or another kind) takes anything."""
    for kind, accepted, words in _KINDS:
        if isinstance(default, kind):
            if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
                raise UsageError(f"{what} must be {words} (its default is {default!r}), got {value!r}")
            if isinstance(value, int) and not -(2**63) <= value < 2**63:  # what torch and SQLite can hold
                raise UsageError(f"{what} must fit in 64 bits, got {value}")
            return
