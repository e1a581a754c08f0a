"""The hooks a genbench plugin can implement. Each returns a list of typed objects.

A plugin is a module (or object) with functions decorated by ``harness.hookimpl``,
exposed through the ``genbench`` entry-point group. docs/plugin-authors.md lists every
hook with an example, and tests/test_hookspecs.py keeps that page and this file in sync.
"""

from __future__ import annotations

from harness.api import DatasetSpec, ExecutorSpec, FeatureExtractor, Generator, Metric, Reporter, RunInfo
from harness.markers import hookspec


@hookspec
def genbench_generators() -> list[type[Generator]]:
    """Generator classes this plugin provides.

    Example::

        @hookimpl
        def genbench_generators():
            return [MyGenerator]
    """


@hookspec
def genbench_datasets() -> list[DatasetSpec]:
    """Datasets this plugin provides.

    Example::

        @hookimpl
        def genbench_datasets():
            return [DatasetSpec("stripes", build=build_stripes, defaults={"resolution": 32})]
    """


@hookspec
def genbench_metrics() -> list[Metric]:
    """Metric instances this plugin provides.

    Example::

        @hookimpl
        def genbench_metrics():
            return [MeanBrightness()]
    """


@hookspec
def genbench_feature_extractors() -> list[FeatureExtractor]:
    """Feature extractors this plugin provides. Each becomes an FD column, a KID column
    and, for a classifier, the mode-coverage columns, computed against cached real-data
    features.

    Example::

        @hookimpl
        def genbench_feature_extractors():
            return [StripeNet()]
    """


@hookspec
def genbench_reporters() -> list[Reporter]:
    """Leaderboard output formats this plugin provides.

    Example::

        @hookimpl
        def genbench_reporters():
            return [HtmlTableReporter()]
    """


@hookspec
def genbench_executors() -> list[ExecutorSpec]:
    """Executors this plugin provides: where ``genbench run --executor NAME`` runs a
    suite's entries. Each spec's factory builds an :class:`harness.api.Executor` from
    the command line's :class:`harness.api.ExecutorSettings`; its ``run`` gets the
    unfinished entries, each a :class:`harness.api.Job`. The built-ins are ``local``
    and ``ray``.

    Example::

        @hookimpl
        def genbench_executors():
            return [ExecutorSpec("pool", "each entry in a process pool", make_pool_executor)]
    """


@hookspec
def genbench_run_started(run: RunInfo) -> None:
    """Called when one (generator, dataset, budget, seed) run starts; ``run`` holds its id,
    directory and resolved options.

    Example::

        @hookimpl
        def genbench_run_started(run):
            print("starting", run["id"])
    """


@hookspec
def genbench_run_finished(run: RunInfo, status: str, metrics: dict[str, float | None]) -> None:
    """Called when a run ends, with its status (``ok`` or ``failed``) and final metrics
    by column name (a value is None where the metric was unavailable; none for a failed
    run).

    Example::

        @hookimpl
        def genbench_run_finished(run, status, metrics):
            notify(run["id"], status, metrics.get("ssim"))
    """
