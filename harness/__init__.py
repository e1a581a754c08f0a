"""genbench: a benchmark harness for image generative models.

The public API for plugin authors: the pluggy markers ``hookspec`` and ``hookimpl``,
the generator API (``Generator``, ``Batch``, ``Dataset``, ``DatasetSpec``,
``SampleRNG``), metrics (``Metric``, ``MetricResult``, ``EvalContext``, ``FeatureExtractor``) and
reporters.
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
    TensorSplit,
)
from harness.markers import hookimpl, hookspec
from harness.rng import SampleRNG

__version__ = "0.1.0"

__all__ = [
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
    "SampleRNG",
    "TensorSplit",
    "__version__",
    "hookimpl",
    "hookspec",
]
