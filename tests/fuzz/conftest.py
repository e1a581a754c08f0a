"""Hypothesis profiles for the fuzz suite: ``ci`` (the default: bounded, derandomized,
so ``make test`` is repeatable and takes a few minutes at most) and ``large`` (the
tests marked slow, and ``GENBENCH_FUZZ_PROFILE=large``): thousands of inputs."""

from __future__ import annotations

import os

import pytest
from contract import TALLY
from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                       HealthCheck.filter_too_much, HealthCheck.data_too_large],
           "database": None}
settings.register_profile("ci", max_examples=25, derandomize=True, **_COMMON)
settings.register_profile("large", max_examples=300, derandomize=False, **_COMMON)


def profile(request: pytest.FixtureRequest) -> settings:
    """The profile a fuzz test runs under: ``large`` for the slow variant or when asked."""
    large = request.node.get_closest_marker("slow") or os.environ.get("GENBENCH_FUZZ_PROFILE") == "large"
    return settings.get_profile("large" if large else "ci")


FUZZ_PROFILES = ["ci", pytest.param("large", marks=pytest.mark.slow)]


@pytest.fixture(params=FUZZ_PROFILES)
def fuzz_settings(request) -> settings:
    """Parametrizes a fuzz test over the two profiles; apply with ``settings(parent=...)``."""
    return profile(request)


def pytest_terminal_summary(terminalreporter) -> None:
    if TALLY:
        terminalreporter.section("fuzz: generated inputs and contract breaks")
        for key, n in sorted(TALLY.items()):
            terminalreporter.line(f"{key}: {n}")
