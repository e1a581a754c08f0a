"""The ``local`` executor, the default: entries in worker processes on this machine.
With one job at a time (the default without several GPUs) it is the sequential path a
local suite has always taken; with ``--jobs N``, N supervisors at once
(``harness.executors.parallel``), each worker pinned to a GPU of its own where the
entries run on CUDA and there are several."""

from __future__ import annotations

import os

from harness.api.executing import Executor, ExecutorContext, ExecutorSettings, Job
from harness.errors import UsageError
from harness.executors.gpus import VISIBLE, default_jobs, visible_devices


class LocalExecutor(Executor):
    """``environments``: one per slot, the variables its workers are spawned with."""

    def __init__(self, environments: list[dict[str, str]]) -> None:
        self.environments = environments

    @property
    def jobs(self) -> int:
        return len(self.environments)

    def run(self, jobs: list[Job], context: ExecutorContext) -> None:
        if self.jobs == 1:  # one entry after another, a KeyboardInterrupt stopping the one that runs
            for job in jobs:
                context.started(job)
                context.execute_here(job)
                context.ended(job)
            return
        from harness.executors.parallel import run_parallel

        run_parallel(jobs, context, self.environments)


def gpu_count(device: str) -> int:
    """The GPUs this process sees, where the entries run on CUDA (0 otherwise)."""
    if not device.startswith("cuda"):
        return 0
    import torch

    return torch.cuda.device_count()


def make_local(settings: ExecutorSettings) -> LocalExecutor:
    """The local executor for ``--jobs`` (default: the GPU count on CUDA, else 1)."""
    if settings.address is not None:
        raise UsageError("--ray-address is for --executor ray; the local executor runs entries on this machine")
    gpus = gpu_count(settings.device)
    if settings.isolation == "none":
        if (settings.jobs or 1) > 1:
            raise UsageError(f"--isolation none runs entries in this process, one at a time: it takes --jobs 1, "
                             f"not --jobs {settings.jobs}")
        return LocalExecutor([{}])
    jobs = settings.jobs or default_jobs(settings.device, gpus)
    pinned = visible_devices(jobs, settings.device, gpus, os.environ.get(VISIBLE))
    return LocalExecutor([{} if gpu is None else {VISIBLE: gpu} for gpu in pinned])
