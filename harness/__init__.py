"""genbench: a benchmark harness for image generative models.

The public API for plugin authors: the pluggy markers ``hookspec`` and ``hookimpl``,
the generator API (``Generator``, ``Requires``, ``Batch``, ``Dataset``, ``DatasetSpec``,
``SampleRNG``), metrics (``Metric``, ``MetricResult``, ``EvalContext``,
``FeatureExtractor``), reporters, the observers' ``RunInfo``, and ``API_VERSION``.
"""

from harness.api import (
    Batch,
    Dataset,
    DatasetSpec,
    DataSplit,
    EvalContext,
    FeatureExtractor,
    Generator,
    Metric,
    MetricResult,
    Reporter,
    Requires,
    RunInfo,
    TensorSplit,
)
from harness.api_version import API_VERSION
from harness.markers import hookimpl, hookspec
from harness.rng import SampleRNG

#: The version of the genbench distribution.
__version__ = "0.1.0"

__all__ = [
    "API_VERSION",
    "Batch",
    "DataSplit",
    "Dataset",
    "DatasetSpec",
    "EvalContext",
    "FeatureExtractor",
    "Generator",
    "Metric",
    "MetricResult",
    "Reporter",
    "Requires",
    "RunInfo",
    "SampleRNG",
    "TensorSplit",
    "__version__",
    "hookimpl",
    "hookspec",
]
