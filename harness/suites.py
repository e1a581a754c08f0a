"""Suites: TOML files listing (generator, dataset, budget, seeds) entries.

    name = "quick"
    budget = "quick"          # a named budget, one from [budgets.NAME] in this file, or a file
    seeds = [0]               # optional: defaults to the budget's seeds
    rank_by = "kid-clocknet"  # optional: the metric that ranks (default: each dataset's own)

    [[entry]]
    generator = "clock"
    dataset = "clocks"
    dataset_options = { resolution = 32, channels = 1 }
    config = { lr = 0.001 }   # generator hyperparameters (override its defaults)
    # the same trained model evaluated again with other sampling settings (one row each)
    samplers = [{ sampler = "ddpm" }]
    # what an executor that schedules (ray) reserves for the entry
    resources = { num_gpus = 1, num_cpus = 4 }

The built-in suites live in harness/suite_files/ and are named by their file stem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harness import budgets, limits, tomlfile
from harness.budgets import Budget
from harness.errors import UsageError
from harness.executors import resources as entry_resources

TOP_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str, "description": str, "budget": str, "seeds": list, "entry": list,
    "budgets": dict, "rank_by": str,
}
ENTRY_KEYS: dict[str, type | tuple[type, ...]] = {
    "generator": str, "dataset": str, "dataset_options": dict, "config": dict, "seeds": list,
    "samplers": list, "resources": dict,
}


@dataclass(frozen=True)
class Entry:
    generator: str
    dataset: str
    dataset_options: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = None
    # Sampling-only config overrides, each evaluated on the entry's trained model.
    samplers: tuple[dict[str, Any], ...] = ()
    # What an executor that schedules reserves for it: num_cpus, num_gpus, memory.
    resources: dict[str, float] = field(default_factory=dict)
    # Where the entry was written ("suite.toml, line 12 ([[entry]] #3)"), for errors
    # found when it is planned; empty for an entry made on the command line.
    where: str = field(default="", compare=False)


@dataclass
class Suite:
    name: str
    budget: Budget
    entries: list[Entry]
    seeds: tuple[int, ...]
    source: str = "(command line)"
    description: str = ""
    # The metric that ranks every entry; None: each dataset's own (DatasetSpec.rank_by).
    rank_by: str | None = None


def _folder():
    return resources.files("harness") / "suite_files"


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".toml"))


def builtin_path(name: str) -> Path:
    return Path(str(_folder() / f"{name}.toml"))


def load(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite TOML file by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        if name_or_path not in builtin_names():
            raise UsageError(f"unknown suite {name_or_path!r}; built-in suites: "
                             f"{', '.join(builtin_names())} (or give a .toml path)")
        path = builtin_path(name_or_path)
    elif not path.exists():
        raise UsageError(f"suite file {path} does not exist")
    data, text = tomlfile.load(path)
    tomlfile.check_keys(data, TOP_KEYS, path, text, "the suite")
    extra: dict[str, Budget] = {}
    for bname, table in data.get("budgets", {}).items():
        if not isinstance(table, dict):
            raise UsageError(f"{tomlfile.where(path, text, bname)}: budgets.{bname} must be a table")
        starts = tomlfile.table_lines(text, f"budgets.{bname}")
        extra[bname] = budgets.from_table(bname, table, path, text, starts[0] if starts else 0)
    if "budget" not in data:
        raise UsageError(f"{path}: the suite names no budget (add e.g. budget = \"quick\")")
    try:
        budget = budgets.resolve(data["budget"], extra)
    except UsageError as exc:
        raise UsageError(f"{tomlfile.where(path, text, 'budget')}: {exc}") from exc
    seeds = _seeds(data.get("seeds", list(budget.seeds)), path, text, 0)
    entries = []
    starts = tomlfile.table_lines(text, "entry")
    if not data.get("entry"):
        raise UsageError(f"{path}: the suite has no [[entry]] tables")
    for i, table in enumerate(data["entry"]):
        start = starts[i] if i < len(starts) else 0
        context = f"[[entry]] #{i + 1}"
        if not isinstance(table, dict):
            raise UsageError(f"{tomlfile.where(path, text, 'entry')}: entry must be [[entry]] tables with "
                             f"generator and dataset keys, got {table!r}")
        tomlfile.check_keys(table, ENTRY_KEYS, path, text, context, start)
        for required in ("generator", "dataset"):
            if required not in table:
                raise UsageError(f"{path}, line {start + 1}: {context} has no {required!r} key")
        entry_seeds = table.get("seeds")
        samplers = table.get("samplers", [])
        if not all(isinstance(v, dict) and v for v in samplers):
            raise UsageError(f"{tomlfile.where(path, text, 'samplers', start)}: {context} samplers must be a "
                             f"list of non-empty tables such as {{ sampler = \"ddpm\" }}, got {samplers!r}")
        asked = entry_resources.check(table.get("resources", {}),
                                      f"{tomlfile.where(path, text, 'resources', start)}: {context}")
        entries.append(Entry(
            generator=table["generator"],
            dataset=table["dataset"],
            dataset_options=dict(table.get("dataset_options", {})),
            config=dict(table.get("config", {})),
            seeds=None if entry_seeds is None else _seeds(entry_seeds, path, text, start),
            samplers=tuple(dict(v) for v in samplers),
            resources=asked,
            where=f"{path}, line {start + 1} ({context})",
        ))
    name = limits.file_name(data.get("name", path.stem), "the suite name",
                            tomlfile.where(path, text, "name") if "name" in data else str(path))
    rank_by = data.get("rank_by")
    if rank_by is not None and not rank_by.strip():
        raise UsageError(f"{tomlfile.where(path, text, 'rank_by')}: rank_by must name a metric, got {rank_by!r}")
    return Suite(name, budget, entries, seeds, str(path), data.get("description", ""), rank_by)


def _seeds(seeds: list, path: Path, text: str, start: int) -> tuple[int, ...]:
    where = tomlfile.where(path, text, "seeds", start)
    if not seeds:
        raise UsageError(f"{where}: seeds must be a non-empty list of seeds, got {seeds!r}")
    checked = tuple(limits.SEED.check(s, where) for s in seeds)
    twice = sorted({s for s in checked if checked.count(s) > 1})
    if twice:  # the same seed twice is the same run twice, not more statistics
        raise UsageError(f"{where}: seed {twice[0]} appears twice in {list(checked)}")
    return checked
