"""Training budgets: images seen with a wall-clock guard, or seconds of training on one
machine, plus the evaluation schedule, the metrics' sample count and the seeds. Named
budgets below; more in TOML files."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from harness import limits, tomlfile
from harness.errors import UsageError

# An images budget is reproducible anywhere: training stops at ``images`` images seen, and
# ``wall_clock_s`` is a guard whose runs are marked capped (``harness.bounds``). A time
# budget is ``wall_clock_s`` seconds of training on this machine, ``images`` its ceiling.
BudgetKind = Literal["images", "time"]
KINDS: tuple[BudgetKind, ...] = get_args(BudgetKind)
# A time budget's ceiling when its file names none: the bound of ``images`` itself.
TIME_CEILING = int(limits.IMAGES.high)


@dataclass(frozen=True)
class Budget:
    """What every generator in a suite is given. Training stops at ``images`` images seen
    or ``wall_clock_s`` seconds, whichever comes first; ``kind`` says which of the two is
    the budget and which the guard."""

    name: str
    images: int
    wall_clock_s: float
    eval_every: int
    n_samples: int
    seeds: tuple[int, ...] = (0,)
    early_stopping_patience: int = 0  # evaluations without validation improvement; 0 = off
    description: str = ""
    kind: BudgetKind = "images"

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        return d


NAMED: dict[str, Budget] = {
    b.name: b
    for b in (
        Budget("smoke", images=512, wall_clock_s=60, eval_every=256, n_samples=64,
               description="seconds: for tests"),
        Budget("quick", images=48_000, wall_clock_s=75, eval_every=8_000, n_samples=512,
               early_stopping_patience=3,
               description="the default: the built-in suite in minutes on a 2-core CPU"),
        Budget("standard", images=3_000_000, wall_clock_s=3600, eval_every=200_000,
               n_samples=10_000, seeds=(0, 1, 2), early_stopping_patience=5,
               description="a GPU hour: the setting of the source papers' tables"),
    )
}

FIELDS: dict[str, type | tuple[type, ...]] = {
    "images": int,
    "wall_clock_s": (int, float),
    "eval_every": int,
    "n_samples": int,
    "seeds": list,
    "early_stopping_patience": int,
    "description": str,
    "kind": str,
    "base": str,
}


def from_table(name: str, table: dict[str, Any], path: Path, text: str, start: int = 0) -> Budget:
    """A budget from a TOML table; ``base = "quick"`` inherits a named budget's values."""
    tomlfile.check_keys(table, FIELDS, path, text, f"budget {name!r}", start)
    base_name = table.get("base")
    values: dict[str, Any] = {}
    if base_name is not None:
        if base_name not in NAMED:
            raise UsageError(f"{tomlfile.where(path, text, 'base', start)}: unknown base budget "
                             f"{base_name!r}; expected one of {', '.join(NAMED)}")
        values = NAMED[base_name].as_dict()
    values.update({k: v for k, v in table.items() if k != "base"})
    values["name"] = name
    if values.get("kind") == "time" and "images" not in table:  # not the base's images either
        values["images"] = TIME_CEILING
    missing = [f for f in ("images", "wall_clock_s", "eval_every", "n_samples") if f not in values]
    if missing:
        raise UsageError(f"{path}: budget {name!r} is missing {', '.join(missing)} (or a 'base')")
    values["seeds"] = tuple(values.get("seeds", (0,)))
    budget = Budget(**values)
    validate(budget, f"{path}: budget {name!r}")
    return budget


def validate(b: Budget, where: str) -> None:
    """The bounds of every field (``harness.limits``), the same as on the command line."""
    if b.kind not in KINDS:
        raise UsageError(f"{where}: kind {b.kind!r} is not a budget kind; expected one of {', '.join(KINDS)}")
    limits.IMAGES.check(b.images, where)
    limits.WALL_CLOCK_S.check(b.wall_clock_s, where)
    limits.Bound(1, b.images, "eval_every (at most images)").check(b.eval_every, where)
    limits.N_SAMPLES.check(b.n_samples, where)
    limits.EARLY_STOPPING.check(b.early_stopping_patience, where)
    if not b.seeds:
        raise UsageError(f"{where}: seeds must be a non-empty list of seeds")
    for seed in b.seeds:
        limits.SEED.check(seed, where)


def load_file(path: Path) -> dict[str, Budget]:
    """Budgets from a TOML file: ``[budget.NAME]`` tables, or top-level keys for one
    budget named after the file."""
    data, text = tomlfile.load(path)
    if "budget" in data and isinstance(data["budget"], dict):
        out = {}
        for name, table in data["budget"].items():
            starts = tomlfile.table_lines(text, f"budget.{name}")
            out[name] = from_table(name, table, path, text, starts[0] if starts else 0)
        return out
    return {path.stem: from_table(path.stem, data, path, text)}


def resolve(name_or_path: str, extra: dict[str, Budget] | None = None) -> Budget:
    """A budget by name (named, or defined in the suite) or from a TOML file path."""
    if extra and name_or_path in extra:
        return extra[name_or_path]
    if name_or_path in NAMED:
        return NAMED[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.exists():
            raise UsageError(f"budget file {path} does not exist")
        budgets = load_file(path)
        if len(budgets) != 1:
            raise UsageError(f"{path} defines {len(budgets)} budgets ({', '.join(budgets)}); "
                             "name one in a suite instead")
        return next(iter(budgets.values()))
    known = sorted(NAMED) + sorted(extra or {})
    raise UsageError(f"unknown budget {name_or_path!r}; expected one of {', '.join(known)} or a .toml file")
