"""``--jobs N``: N entries at once on this machine, each in a worker process of its own
watched by a supervisor in a thread (``Supervisor.run`` blocks on its worker). The
entry lines and every read of the runner's store stay in the calling thread; each
thread opens the store for itself. Stopping genbench (Ctrl-C, SIGTERM: a
``KeyboardInterrupt`` in the calling thread) stops every running worker, each of which
records its run interrupted, and then lets the interrupt out."""

from __future__ import annotations

import signal
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from threading import Event

from harness.api.executing import ExecutorContext, Job, RunOutcome
from harness.records import ResultsStore
from harness.supervisor import TERM_WAIT_S, Supervisor
from harness.worker import WorkerSpec


def _execute(supervisor: Supervisor, job: Job) -> list[RunOutcome]:
    store = ResultsStore(job.db)  # a connection per thread
    try:
        return supervisor.run(job.entry, store)
    finally:
        store.close()


def run_parallel(jobs: list[Job], context: ExecutorContext, environments: list[dict[str, str]]) -> None:
    """Runs ``jobs`` in order, one slot each, as many at once as there are slots; slot
    ``i``'s workers get ``environments[i]``."""
    stopping = Event()
    free, waiting = list(range(len(environments))), list(jobs)
    running: dict[Future, tuple[Job, int, Supervisor]] = {}
    with ThreadPoolExecutor(max_workers=len(environments), thread_name_prefix="genbench-slot") as pool:
        try:
            while waiting or running:
                while waiting and free:
                    slot, job = free.pop(0), waiting.pop(0)
                    # One progress bar per terminal: with several entries at once, the entry lines.
                    spec = WorkerSpec(job.db, job.out, job.device, False, job.tensorboard)
                    supervisor = Supervisor(spec, environments[slot], stopping)
                    context.started(job)
                    running[pool.submit(_execute, supervisor, job)] = (job, slot, supervisor)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job, slot, _ = running.pop(future)
                    free.append(slot)
                    future.result()  # bad input a worker found (a damaged checkpoint) stops the suite, as with one job
                    context.ended(job)
        except BaseException:
            _stop(running, stopping)
            raise


def _stop(running: dict[Future, tuple[Job, int, Supervisor]], stopping: Event) -> None:
    """Stops every running worker: SIGTERM (it records its run interrupted), then, for
    one that has not ended after ``TERM_WAIT_S``, SIGKILL (its run then reads as
    interrupted, its process gone)."""
    stopping.set()
    for _, _, supervisor in running.values():
        supervisor.stop_worker(signal.SIGTERM)
    _, lingering = wait(running, timeout=TERM_WAIT_S)
    for future in lingering:
        running[future][2].stop_worker(signal.SIGKILL)
    wait(running)
