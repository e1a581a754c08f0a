"""What a run's options must hold before it runs or resumes from them: ``options.json``
(or, before that is written, the options recorded in the database) with every key the
run plan reads, each of its type and within its bounds (the budget's as a budget file's),
and, for ``options.json``, the values the run was recorded with. A damaged or edited file
is bad input, named by file and key, before anything is recorded; never a run that
resumes under another budget and reports success."""

from __future__ import annotations

from typing import Any

from harness import budgets, limits
from harness.errors import UsageError
from harness.records.decode import show as _show_value

_WORDS = {str: "a text", int: "a whole number", dict: "a JSON object", list: "a JSON list"}
# What the run plan reads (``RunPlan.from_options``), and the keys it may read.
REQUIRED: dict[str, type] = {"suite": str, "generator": str, "dataset": str, "dataset_options": dict,
                             "config": dict, "budget": dict, "seed": int}
OPTIONAL: dict[str, type] = {"suite_run": str, "run_id": str, "generator_class": str, "device": str,
                             "samplers": list, "trained_in": str, "rank_by": str}
BUDGET_REQUIRED = ("name", "images", "wall_clock_s", "eval_every", "n_samples", "seeds")
BUDGET_OPTIONAL = ("early_stopping_patience", "description", "kind")
AUTO = "auto"  # a config value the generator resolves: options.json holds what it resolved to


def show(value: Any) -> str:
    return "null" if value is None else _show_value(value)


def _fits(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)


def _key(where: str, key: str, value: Any, expected: str) -> UsageError:
    return UsageError(f"{where}: key {key!r} is {show(value)}; expected {expected}")


def check(options: dict[str, Any], where: str, run_id: str,
          recorded: dict[str, Any] | None = None, recorded_in: str = "") -> dict[str, Any]:
    """``options`` of run ``run_id`` (read from ``where``) if they are whole and sound;
    ``recorded``: the options the database holds for the run, which they must agree with."""
    for key, kind in (REQUIRED | OPTIONAL).items():
        if key not in options:
            if key in REQUIRED:
                raise UsageError(f"{where}: key {key!r} is missing; it must hold {_WORDS[kind]}")
            continue
        if not _fits(options[key], kind) and not (key in ("trained_in", "generator_class") and options[key] is None):
            raise _key(where, key, options[key], _WORDS[kind])
    if options.get("run_id", run_id) != run_id:
        raise UsageError(f"{where}: key 'run_id' is {show(options['run_id'])}, but it belongs to run {run_id!r}")
    limits.SEED.check(options["seed"], f"{where}: key 'seed'")
    _check_budget(options["budget"], f"{where}: key 'budget'")
    for i, variant in enumerate(options.get("samplers", ())):
        if not isinstance(variant, dict):
            raise _key(where, f"samplers[{i}]", variant, "a JSON object of sampling keys")
    if recorded is not None:
        _agree(options, recorded, where, run_id, recorded_in)
    return options


def _check_budget(budget: dict[str, Any], where: str) -> None:
    missing = [k for k in BUDGET_REQUIRED if k not in budget]
    unknown = sorted(set(budget) - set(BUDGET_REQUIRED) - set(BUDGET_OPTIONAL))
    if missing or unknown:
        what = f"lacks {', '.join(missing)}" if missing else f"has unknown key(s) {', '.join(unknown)}"
        raise UsageError(f"{where} {what}; a budget holds {', '.join(BUDGET_REQUIRED + BUDGET_OPTIONAL)}")
    if not isinstance(budget["name"], str) or not isinstance(budget.get("description", ""), str):
        raise UsageError(f"{where}: name and description must be texts")
    if not isinstance(budget["seeds"], list):
        raise UsageError(f"{where}: seeds must be a list of seeds, got {show(budget['seeds'])}")
    budgets.validate(budgets.Budget(**{**budget, "seeds": tuple(budget["seeds"])}), where)


def _agree(options: dict[str, Any], recorded: dict[str, Any], where: str, run_id: str, recorded_in: str) -> None:
    """Every recorded value is the one in ``options``; of the config, all but those the
    generator resolved (recorded as "auto")."""
    def differs(key: str, value: Any, then: Any, there: bool = True) -> UsageError:
        return UsageError(f"{where}: key {key!r} is {show(value) if there else 'missing'}, but run {run_id} was "
                          f"recorded with {show(then)} in {recorded_in} (the file was damaged or edited: put the "
                          "recorded value back)")

    for key, then in recorded.items():
        if key == "config" and isinstance(then, dict):
            config = options["config"]
            for name in sorted(set(config) | set(then)):
                if name not in then or (then[name] != AUTO and (name not in config or config[name] != then[name])):
                    raise differs(f"config.{name}", config.get(name), then.get(name), name in config)
        elif key not in options or options[key] != then:
            now = options.get(key)
            if isinstance(now, dict) and isinstance(then, dict):  # name the part that differs
                part = next(k for k in sorted(set(now) | set(then), key=str) if now.get(k, now) != then.get(k, then))
                raise differs(f"{key}.{part}", now.get(part), then.get(part), part in now)
            raise differs(key, now, then, key in options)
