"""The conformance check a plugin author runs on what their plugin provides:
``genbench check-plugin NAME``, or in their own tests ``assert_conforms(MyGenerator)``,
``assert_dataset_conforms(spec)``, ``assert_extractor_conforms(extractor)`` and
``assert_reporter_conforms(reporter)``.

Each ``check_*`` function runs one kind's checks and returns a :class:`CheckResult` per
check (``ok``, ``fail`` with what is wrong, or ``skip`` with why it could not run here);
each ``assert_*`` raises an AssertionError listing every failed check. The checks of
each kind, in order, are listed in its module's docstring:

- generators (:mod:`harness.conformance.generators`): build, a training step, sample
  shape and range, determinism, batch-size independence, the state_dict round trip;
- datasets (:mod:`harness.conformance.datasets`): build, splits, image shape and range,
  disjoint splits, the seed fixing the splits, conditions and labels, render;
- feature extractors (:mod:`harness.conformance.extractors`): availability, fingerprint,
  feature shape and values, determinism, feature dimension, classes, applies_to;
- reporters (:mod:`harness.conformance.reporters`): name, rendering a sample leaderboard
  to stable, complete, UTF-8 text.

Metrics have no conformance check.
"""

from harness.conformance.common import CheckResult, Skip
from harness.conformance.datasets import assert_dataset_conforms, check_dataset
from harness.conformance.extractors import assert_extractor_conforms, check_extractor
from harness.conformance.generators import assert_conforms, check_generator
from harness.conformance.reporters import assert_reporter_conforms, check_reporter, sample_leaderboard

__all__ = [
    "CheckResult",
    "Skip",
    "assert_conforms",
    "assert_dataset_conforms",
    "assert_extractor_conforms",
    "assert_reporter_conforms",
    "check_dataset",
    "check_extractor",
    "check_generator",
    "check_reporter",
    "sample_leaderboard",
]
