"""The executors the host's own plugin offers (``harness.builtins``), each built only
when chosen, so that nothing imports Ray unless ``--executor ray`` is used."""

from __future__ import annotations

from harness.api.executing import Executor, ExecutorSettings, ExecutorSpec


def _local(settings: ExecutorSettings) -> Executor:
    from harness.executors.local import make_local

    return make_local(settings)


def _ray(settings: ExecutorSettings) -> Executor:
    from harness.executors.ray_executor import make_ray

    return make_ray(settings)


EXECUTORS = [
    ExecutorSpec("local", "worker processes on this machine, --jobs at a time (one per GPU where there are several)",
                 _local),
    ExecutorSpec("ray", "Ray tasks across a cluster (--ray-address), one per entry, retried when a node is lost; "
                 "needs pip install 'genbench[ray]'", _ray),
]
