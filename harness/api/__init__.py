"""The plugin API: what a generator, a dataset, a metric and a reporter look like.

A plugin returns these objects from its hook implementations (see hookspecs.py).
Images cross the API as float tensors in [-1, 1], NCHW. One module per part:
``data`` (datasets and batches), ``generator``, ``measuring`` (metrics and feature
extractors) and ``reporting`` (reporters and the observers' run).
"""

from harness.api.data import Batch, Dataset, DatasetSpec, DataSplit, TensorSplit
from harness.api.generator import Direction, Generator, Requires, SsimKind
from harness.api.measuring import EvalContext, FeatureExtractor, Metric, MetricResult
from harness.api.reporting import Reporter, RunInfo

__all__ = ["Batch", "DataSplit", "Dataset", "DatasetSpec", "Direction", "EvalContext", "FeatureExtractor",
           "Generator", "Metric", "MetricResult", "Reporter", "Requires", "RunInfo", "SsimKind", "TensorSplit"]
