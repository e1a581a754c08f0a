"""The ``ray`` executor: each entry a Ray task, carrying the resources its suite entry
asks for (a GPU by default on CUDA, else a CPU core) and retried by Ray when its
worker process dies. The task runs the entry in the Ray worker itself
(``ray_task.run_job``), so a retry resumes it from its last checkpoint; runs are planned
before anything runs, and evaluations and metrics are keyed, so a retry adds no row.

The driver (``genbench run``) follows the entries through the store, as their
processes are elsewhere: it prints each entry's lines as it starts and ends, gives an
entry that has run past its allowance (``deadlines.allowance_s``) no more time (its
task is cancelled, its runs recorded failed), records the runs of a task that failed
for good (retries exhausted) as failed with Ray's reason, and on Ctrl-C or SIGTERM
asks every task to stop (``ray_stop``), leaving its runs interrupted for ``--resume``."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import replace
from typing import Any

from harness.api.executing import Executor, ExecutorContext, ExecutorSettings, Job
from harness.errors import UsageError
from harness.executors import ray_connect
from harness.executors.deadlines import Watch, allowance_s
from harness.executors.lost import record_failed, record_lost
from harness.executors.ray_stop import StopRequest
from harness.executors.resources import task_resources
from harness.records import ResultsStore, RunRecorder
from harness.records.location import looks_like_url
from harness.supervisor import TERM_WAIT_S, grace_s

NAME = "ray"
MAX_RETRIES = 2  # a task whose worker process dies is run again up to twice
POLL_S = 0.5  # how often the driver reads the store


def make_ray(settings: ExecutorSettings) -> RayExecutor:
    if settings.jobs is not None:
        raise UsageError("--jobs is for the local executor; Ray runs as many entries at once as the cluster's "
                         "resources allow (a suite entry's resources table says what one needs)")
    if settings.isolation == "none":
        raise UsageError("--isolation none runs entries in this process; with --executor ray each runs in a Ray "
                         "worker process")
    ray_connect.check_installed()
    return RayExecutor(settings.address, settings.store)


class RayExecutor(Executor):
    def __init__(self, address: str | None, store: str | None = None) -> None:
        self.address, self.store = address, store
        self._ray: Any = None

    def prepare(self) -> None:
        if self._ray is None:
            self._ray = ray_connect.connect(self.address)
            if self.store is not None and not looks_like_url(self.store):
                hosts = ray_connect.hosts(self._ray)
                if len(hosts) > 1:
                    self._ray.shutdown()
                    self._ray = None
                    raise UsageError(f"--executor ray on a cluster of {len(hosts)} hosts needs a store they all "
                                     f"write to: {self.store} is an SQLite file, which a network filesystem does "
                                     "not keep consistent between hosts; pass --db postgresql://USER@HOST/DBNAME "
                                     "(docs/scaling.md)")

    def run(self, jobs: list[Job], context: ExecutorContext) -> None:
        if not jobs:
            return
        self.prepare()
        try:
            _Driver(self._ray, jobs, context).run()
        finally:
            self._ray.shutdown()  # a Ray instance started here ends with it
            self._ray = None


class _Driver:
    def __init__(self, ray: Any, jobs: list[Job], context: ExecutorContext) -> None:
        from harness.executors.ray_task import run_job

        self.ray, self.jobs, self.context = ray, jobs, context
        self.store = ResultsStore(jobs[0].db)
        self.grace = grace_s()
        self.task = ray.remote(run_job)
        self.watches: dict[Any, Watch] = {}
        self.stop = StopRequest(jobs[0].out)

    def run(self) -> None:
        print(f"genbench: ray: {len(self.jobs)} entries on {ray_connect.cluster(self.ray)}", file=sys.stderr)
        for job in self.jobs:
            options = task_resources(job.resources, job.device)
            # No progress bar: a task's stderr reaches the driver a line at a time.
            ref = self.task.options(max_retries=MAX_RETRIES, name=f"genbench {job.k}/{job.n} {job.entry.run_id}",
                                    **options).remote(replace(job, show_progress=False), str(self.stop.path))
            self.watches[ref] = Watch(job, allowance_s(job.wall_clock_s, len(job.entry.variants), self.grace))
        try:
            while self.watches:
                ready, _ = self.ray.wait(list(self.watches), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    self._ended(ref, self.watches.pop(ref))
                self._follow()
        except BaseException:
            self._stop()
            raise
        finally:
            self.stop.close()
            self.store.close()

    def _follow(self) -> None:
        """Reads the store once: lines for entries that started or restarted, and a
        forced cancel for each that has run past its allowance."""
        if not self.watches:
            return
        try:
            runs = {r.id: r for r in self.store.runs(run_ids=[i for w in self.watches.values() for i in w.job.run_ids])}
        except UsageError:  # the server away for a moment: the tasks go on, and so does the next poll
            return
        now = time.monotonic()
        for ref, watch in self.watches.items():
            job = watch.job
            event = watch.update([runs[i] for i in job.run_ids if i in runs], now)
            if event == "started":
                self.context.started(job)
            elif event == "gone":
                self.context.note(job, "its worker process is gone; Ray retries it")
            elif event == "restarted":
                self.context.note(job, f"restarted ({watch.process.describe()}), from its last checkpoint")
            elapsed = watch.overdue(now)
            if elapsed is not None:
                watch.cancelled = (f"the ray executor cancelled entry {job.k}/{job.n}: it ran {elapsed:.0f} s, past "
                                   f"its allowance of {watch.allowance_s:.0f} s (the budget's wall clock plus "
                                   f"{self.grace:g} s per phase; hung?)")
                self.ray.cancel(ref, force=True)

    def _ended(self, ref: Any, watch: Watch) -> None:
        """A task that returned, failed for good, or was cancelled: its runs left
        behind recorded failed with why, then its lines."""
        from ray.exceptions import RayError, TaskCancelledError

        why = None
        try:
            self.ray.get(ref)
        except TaskCancelledError:
            why = watch.cancelled or "its task was cancelled outside genbench"
        except RayError as exc:
            why = ray_connect.reason(exc)
        if why is not None:
            self._settle(watch.job)
            if watch.cancelled:
                record_failed(self.store, watch.job, watch.cancelled)
            else:
                record_lost(self.store, watch.job, NAME, why)
        if not watch.seen:
            self.context.started(watch.job)
        self.context.ended(watch.job)

    def _settle(self, job: Job) -> None:
        """Waits (a while) for a killed task's process to be gone, so its run reads
        interrupted rather than running and can be recorded."""
        deadline = time.monotonic() + TERM_WAIT_S
        while any(r.status == "running" for r in self.store.runs(run_ids=list(job.run_ids))):
            if time.monotonic() > deadline:
                return
            time.sleep(0.2)

    def _stop(self) -> None:
        """Ctrl-C or SIGTERM: every task is asked to stop (``ray_stop``); a running entry
        records its run interrupted and returns, a queued one returns without starting,
        its runs still pending. A task still running ``TERM_WAIT_S`` later is forced (its
        worker killed), and its run, left by a killed process, recorded interrupted.
        ``--resume`` finishes them all."""
        refs = list(self.watches)
        try:
            self.stop.request()
            wait_s = TERM_WAIT_S
        except OSError:
            wait_s = 0.0
        # A Ray instance started here may have had the Ctrl-C too: the runs are marked all the same.
        with contextlib.suppress(Exception):
            _, left = self.ray.wait(refs, num_returns=len(refs), timeout=wait_s)
            for ref in left:  # the last resort: a forced cancel can race the task's reply (ray_stop)
                self.ray.cancel(ref, force=True)
            print(f"genbench: ray: {len(refs) - len(left)} of {len(refs)} task(s) stopped as asked, {len(left)} "
                  "forced", file=sys.stderr)
        for watch in self.watches.values():
            self._settle(watch.job)
            for run in self.store.runs(run_ids=list(watch.job.run_ids)):
                if run.status == "interrupted":
                    RunRecorder.open(self.store, run.id, check=False).interrupt(run.used)
