"""The checks of a reporter: its name can be a file extension, and it renders a sample
leaderboard (n/a cells, a KID column with its std, the small-N flag, footnotes, a failed
row with a long reason, generator names in German, Chinese and arrows) to the same
non-empty text every time, naming every row, and encodable as UTF-8.

Checks, in order:

- name is a non-empty str usable as a file extension
- render returns a non-empty str (required)
- every row's generator is in the output
- rendering twice gives the same text
- the output encodes to UTF-8
"""

from __future__ import annotations

import json
import re

from harness.api import Reporter
from harness.conformance.common import CheckResult, _Check, raise_failures, run_checks
from harness.leaderboard import FD_FLAG, Column, Leaderboard

LONG_REASON = ("failed at step 12: RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB "
               "total capacity; 75.3 GiB already allocated) while sampling 50,000 images at batch size 512")


def sample_leaderboard() -> Leaderboard:
    """A leaderboard that exercises what a format must handle, built as the host builds
    one (``harness.leaderboard.build``), with rows of every kind."""
    columns = [
        Column("generator", "generator"), Column("dataset", "dataset"), Column("seed", "seed"),
        Column("fd-clocknet", "fd-clocknet ↓", "min", interval_key="fd-clocknet interval",
               spread_key="fd-clocknet ±"),
        Column("kid-clocknet", "kid-clocknet ↓", "min", std_key="kid-clocknet std"),
        Column("ssim", "ssim ↑", "max"), Column("n", "N"), Column("images", "images seen"),
        Column("status", "status"),
    ]
    row = {"run": "", "dataset": "clocks", "budget": "smoke", "seed": 0, "status": "ok", "flags": [], "n": 512,
           "images": "512/512", "images_seen": 512, "images_budget": 512, "bound": "budget", "capped": ""}
    rows = [
        {**row, "run": "r1", "generator": "dcgan", "fd-clocknet": 12.5, "fd-clocknet interval": (11.25, 13.75),
         "kid-clocknet": 0.0123, "kid-clocknet std": 0.0011, "ssim": 0.4321, "flags": ["fd-clocknet"],
         "images": "128/512", "images_seen": 128, "bound": "capped", "capped": "capped at 25%"},
        {**row, "run": "r5", "generator": "clock", "seed": "0, 1, 2", "seeds": [0, 1, 2], "runs": ["r5", "r6", "r7"],
         "spread": "seeds", "fd-clocknet": 3.5, "fd-clocknet ±": 0.25, "kid-clocknet": 0.001, "ssim": 0.9},
        {**row, "run": "r2", "generator": "größe-模型", "fd-clocknet": 30.25, "kid-clocknet": 0.05,
         "kid-clocknet std": 0.004, "ssim": None},
        {**row, "run": "r3", "generator": "↑↓†", "seed": 1, "fd-clocknet": 1234.5, "kid-clocknet": 0.25,
         "kid-clocknet std": 0.02, "ssim": 0.0042},
        {**row, "run": "r4", "generator": "vqvae", "status": LONG_REASON, "fd-clocknet": None,
         "kid-clocknet": None, "kid-clocknet std": None, "ssim": None, "n": None},
    ]
    footnotes = [f"{FD_FLAG} fd-clocknet from N = 512 < 2048 samples: FD is biased upward at small N",
                 "ssim n/a for größe-模型: not measured"]
    return Leaderboard("genbench: clocks (smoke)", columns, rows, footnotes, rank_by="fd-clocknet")


def _render(reporter: Reporter) -> str:
    # A fresh table each time: a reporter that changes the table it is given must not
    # change what the next render sees.
    return reporter.render(sample_leaderboard())


# Each check returns None when it passes, otherwise what is wrong.

def _name(reporter: Reporter) -> str | None:
    name = getattr(reporter, "name", None)
    if not isinstance(name, str) or not name:
        return f"name is {name!r}, expected a non-empty str"
    if "/" in name or "\\" in name or re.search(r"\s", name) or name.startswith("."):
        return f"name {name!r} cannot be a file extension: no '/', no whitespace, no leading '.'"
    return None


def _renders(reporter: Reporter) -> str | None:
    text = _render(reporter)
    if not isinstance(text, str):
        return f"render returned {type(text).__name__}, expected a str"
    return None if text else "render returned an empty str"


def _rows(reporter: Reporter) -> str | None:
    text = _render(reporter)
    # A format may escape non-ASCII as JSON does (\u00f6): the name counts either way.
    missing = [(i, row["generator"]) for i, row in enumerate(sample_leaderboard().rows)
               if row["generator"] not in text and json.dumps(row["generator"])[1:-1] not in text]
    if missing:
        i, name = missing[0]
        return (f"the output lacks the generator {name!r} of row {i + 1} of {len(sample_leaderboard().rows)}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return None


def _stable(reporter: Reporter) -> str | None:
    first, second = _render(reporter), _render(reporter)
    if first == second:
        return None
    pairs = enumerate(zip(first, second, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(first), len(second)))
    return (f"two renders of the same leaderboard differ from character {at}: {first[at:at + 40]!r}, then "
            f"{second[at:at + 40]!r}")


def _utf8(reporter: Reporter) -> str | None:
    try:
        _render(reporter).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"the output does not encode to UTF-8: {exc}"
    return None


_CHECKS: tuple[_Check[Reporter], ...] = (
    _Check("name is a non-empty str usable as a file extension", _name),
    _Check("render returns a non-empty str", _renders, required=True),
    _Check("every row's generator is in the output", _rows),
    _Check("rendering twice gives the same text", _stable),
    _Check("the output encodes to UTF-8", _utf8),
)


def check_reporter(reporter: Reporter) -> list[CheckResult]:
    """Runs every check on ``reporter`` with :func:`sample_leaderboard`; later checks are
    left out when rendering fails."""
    return run_checks(str(getattr(reporter, "name", type(reporter).__name__)), _CHECKS, reporter)


def assert_reporter_conforms(reporter: Reporter) -> None:
    """A pytest helper for plugin authors: fails with every failing check listed."""
    raise_failures(getattr(reporter, "name", reporter), check_reporter(reporter))
