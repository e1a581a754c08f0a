"""The plugin API: what a generator, a dataset, a metric and a reporter look like.

A plugin returns these objects from its hook implementations (see hookspecs.py).
Images cross the API as float tensors in [-1, 1], NCHW. One module per part:
``data`` (datasets and batches), ``generator``, ``measuring`` (metrics and feature
extractors), ``reporting`` (reporters and the observers' run) and ``executing``
(executors: where a suite's entries run).
"""

from harness.api.data import Batch, Dataset, DatasetSpec, DataSplit, TensorSplit
from harness.api.executing import (
    Entry,
    Executor,
    ExecutorContext,
    ExecutorSettings,
    ExecutorSpec,
    Job,
    RunOutcome,
    execute_in_process,
    execute_in_worker,
)
from harness.api.generator import Direction, Generator, Requires, SsimKind
from harness.api.measuring import EvalContext, FeatureExtractor, Metric, MetricResult
from harness.api.reporting import Reporter, RunInfo

__all__ = ["Batch", "DataSplit", "Dataset", "DatasetSpec", "Direction", "Entry", "EvalContext", "Executor",
           "ExecutorContext", "ExecutorSettings", "ExecutorSpec", "FeatureExtractor", "Generator", "Job", "Metric",
           "MetricResult", "Reporter", "Requires", "RunInfo", "RunOutcome", "SsimKind", "TensorSplit",
           "execute_in_process", "execute_in_worker"]
