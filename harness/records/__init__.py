"""The records layer: the only code that knows SQL or the run-directory format.

Everything else reads typed records (``SuiteRun``, ``Run``, ``Evaluation``,
``MetricValue``) from a ``ResultsStore`` and writes a run through its ``RunRecorder``.
"""

from harness.records.recorder import RunRecorder
from harness.records.rundir import RunDir, check_writable
from harness.records.store import ResultsStore
from harness.records.types import (
    Evaluation,
    MetricPoint,
    MetricValue,
    Run,
    Selection,
    SuiteRun,
)

__all__ = [
    "Evaluation",
    "MetricPoint",
    "MetricValue",
    "ResultsStore",
    "Run",
    "RunDir",
    "RunRecorder",
    "Selection",
    "SuiteRun",
    "check_writable",
]
