"""What every kind's checks share: the result of one check, the record of a check, and
the runner that turns what a check returns or raises into a result."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from harness.api import Dataset

Status = Literal["ok", "fail", "skip"]
S = TypeVar("S")


@dataclass
class CheckResult:
    """The outcome of one check on one subject (a generator, dataset, feature extractor
    or reporter, by name): ``status`` is ``ok``, ``fail`` or ``skip``, and ``message``
    says what failed, or why the check could not run here."""

    subject: str
    check: str
    status: Status
    message: str = ""

    @property
    def ok(self) -> bool:
        """True unless the check failed: a skipped check is no failure."""
        return self.status != "fail"

    @property
    def skipped(self) -> bool:
        return self.status == "skip"

    @property
    def generator(self) -> str:
        """The subject's name, under the name it had when only generators were checked."""
        return self.subject


class Skip(Exception):
    """Raised by a check that cannot run here (missing data files, missing weights);
    its message says why. The subject is not at fault."""


@dataclass(frozen=True)
class _Check(Generic[S]):
    """One conformance check: its name as printed, and the function that runs it on the
    subject under test, returning None when it passes and otherwise what is wrong.

    ``applies`` selects the subjects the check is for; when a ``required`` check fails or
    is skipped, the later checks are left out (they need what it builds).
    """

    name: str
    run: Callable[[S], str | None]
    applies: Callable[[S], bool] = lambda subject: True
    required: bool = False


def _outcome(check: _Check[S], subject: S) -> tuple[Status, str]:
    """The check's status and message; an exception is the problem, with where it was raised."""
    try:
        problem = check.run(subject)
    except Skip as skip:
        return "skip", str(skip)
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return "fail", f"raised {type(exc).__name__}: {exc} ({tb.filename}:{tb.lineno})"
    return ("ok", "") if problem is None else ("fail", problem)


def run_checks(name: str, checks: Sequence[_Check[S]], subject: S) -> list[CheckResult]:
    """Runs ``checks`` in order on ``subject`` (called ``name`` in the results)."""
    results: list[CheckResult] = []
    for check in checks:
        if not check.applies(subject):
            continue
        status, message = _outcome(check, subject)
        results.append(CheckResult(name, check.name, status, message))
        if status != "ok" and check.required:
            break
    return results


def raise_failures(what: Any, results: list[CheckResult]) -> None:
    """An AssertionError listing every failed check of ``results``, if any failed."""
    failures = [r for r in results if not r.ok]
    if failures:
        lines = "\n".join(f"- {r.check}: {r.message}" for r in failures)
        raise AssertionError(f"{what} fails the genbench conformance check:\n{lines}")
    if results and all(r.skipped for r in results):
        # Nothing was checked (its files or weights are not here): a pass would be a lie.
        import pytest

        pytest.skip(f"{what}: the genbench conformance check could not run here: {results[0].message}")


def default_dataset() -> Dataset:
    """What generators and extractors are checked on unless told otherwise: the built-in
    clocks at their defaults."""
    from harness.datasets import clocks

    return clocks.build()
