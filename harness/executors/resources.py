"""What a suite entry may ask of an executor that schedules (``resources = { num_gpus =
1, num_cpus = 4 }``), checked when the suite is read, and the resources a Ray task gets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import UsageError

# Each key: (the highest value, whether it must be whole, what it is).
KEYS: dict[str, tuple[float, bool, str]] = {
    "num_cpus": (4096, False, "CPU cores"),
    "num_gpus": (1024, False, "GPUs"),
    "memory": (2**50, True, "bytes of memory"),
}


def check(table: Any, where: str) -> dict[str, float]:
    """``table`` if it is a table of known keys with values in range; else a UsageError
    that starts with ``where``."""
    if not isinstance(table, Mapping):
        raise UsageError(f"{where}: resources must be a table such as {{ num_gpus = 1, num_cpus = 4 }}, "
                         f"got {table!r}")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise UsageError(f"{where}: unknown resource(s) {', '.join(map(repr, unknown))}; expected some of "
                         f"{', '.join(KEYS)}")
    for key, value in table.items():
        high, whole, what = KEYS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            raise UsageError(f"{where}: resource {key!r} must be {kind} of {what}, got {value!r}")
        if not 0 <= value <= high:  # also refuses NaN
            raise UsageError(f"{where}: resource {key!r} must be from 0 to {high:,}, got {value!r}")
        # Ray schedules a fraction of one GPU, or whole GPUs, never 1.5 of them.
        if key == "num_gpus" and value > 1 and value != int(value):
            raise UsageError(f"{where}: resource 'num_gpus' above 1 must be a whole number, got {value!r}")
    return dict(table)


def task_resources(asked: Mapping[str, float], device: str) -> dict[str, float]:
    """What a task of an entry reserves: a GPU where the entry runs on CUDA, else a
    CPU core, updated with what the entry asks for."""
    default: dict[str, float] = {"num_gpus": 1} if device.startswith("cuda") else {"num_cpus": 1}
    return {**default, **asked}
