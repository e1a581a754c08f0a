"""The bounds of every number and name a user gives genbench, in one place, so that the
command line and the TOML files accept exactly the same values. A value outside them is
a UsageError that names where it came from and what would be right."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from harness.errors import UsageError


@dataclass(frozen=True)
class Bound:
    """An integer or real range, both ends included."""

    low: float
    high: float
    what: str
    integer: bool = True

    def check(self, value: object, where: str) -> int | float:
        """``value`` if it is a number in range; else a UsageError naming ``where``."""
        kinds = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise UsageError(f"{where}: {self.what} must be {self._kind()}, got {value!r}")
        if not self.low <= value <= self.high:  # also refuses NaN
            raise UsageError(f"{where}: {self.what} must be {self._range()}, got {value!r}")
        return value

    def _kind(self) -> str:
        return "a whole number" if self.integer else "a number"

    def _range(self) -> str:
        return f"from {self.low:,} to {self.high:,}" if self.integer else f"from {self.low:g} to {self.high:g}"

    def arg(self, text: str) -> int | float:
        """An argparse ``type=``: the same check on a command-line value."""
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {self._kind()}, got {text!r}") from None
        if not self.low <= value <= self.high:
            raise argparse.ArgumentTypeError(f"must be {self._range()}, got {text}")
        return value


# torch.manual_seed takes any 64-bit value; numpy's seeding takes the low 32 bits. A seed
# is recorded in SQLite, whose integers are signed 64-bit.
SEED = Bound(0, 2**63 - 1, "a seed")
SEED_COUNT = Bound(1, 1000, "--seeds")
IMAGES = Bound(1, 10**10, "images")  # 10 billion images: 3,000 times the standard budget
WALL_CLOCK_S = Bound(1e-3, 30 * 24 * 3600, "wall_clock_s", integer=False)  # up to 30 days
N_SAMPLES = Bound(1, 200_000, "n_samples")  # 4x FID's customary 50,000
EARLY_STOPPING = Bound(0, 10_000, "early_stopping_patience")
Z_SCORE = Bound(1e-6, 1e6, "--z", integer=False)
LOOKBACK = Bound(3, 10_000, "--lookback")  # harness.history.MIN_HISTORY earlier points at least

# Names that become parts of file names (leaderboard-<suite>.md, run folders).
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def file_name(value: object, what: str, where: str) -> str:
    """``value`` if it can be part of a file name on every platform; else a UsageError."""
    if not isinstance(value, str) or not _FILE_NAME.fullmatch(value):
        raise UsageError(f"{where}: {what} {value!r} cannot name files: use 1 to 64 letters, digits, '.', '_', "
                         "'+' or '-', starting with a letter or digit")
    return value


def label(text: str) -> str:
    """An argparse ``type=`` for a label: text a person reads in tables, logs and plots,
    so not empty and without control characters (a newline would split a row)."""
    non_empty(text)
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        raise argparse.ArgumentTypeError(f"must not hold control characters (a newline, an escape), got {text!r}")
    return text


def non_empty(text: str) -> str:
    """An argparse ``type=`` for names and references: an empty string names nothing (it
    used to mean 'the default', silently)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text
