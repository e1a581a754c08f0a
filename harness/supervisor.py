"""The supervisor side of process isolation: one fresh worker process per suite entry
(spawned, not forked, so CUDA works in it), watched until it reports or dies.

The worker reports each phase it enters, with the time the phase may take (the
budget's wall clock); the supervisor allows that plus ``GENBENCH_GRACE_S``, then sends
SIGTERM, then SIGKILL, and records the run as failed. A worker that dies (``os._exit``,
a segfault, the OOM killer) has its unfinished runs recorded as failed, with how it
died. The worker never decides the suite's exit code: the command reads the records.

Several supervisors may run at once, each in a thread of its own (``--jobs N``): every
worker is spawned under one lock, with the environment its supervisor was given
(``CUDA_VISIBLE_DEVICES``), since a spawned process starts with a copy of this
process's environment."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from harness.errors import UsageError
from harness.execution import Entry, RunOutcome
from harness.records import ResultsStore, RunRecorder
from harness.worker import WorkerSpec

GRACE_ENV = "GENBENCH_GRACE_S"
GRACE_S = 30.0  # beyond a phase's allowance (a last step, a checkpoint, a slow import)
TERM_WAIT_S = 10.0  # between SIGTERM and SIGKILL, and for a worker to exit after reporting
STARTUP_S = 120.0  # for a worker to import torch and load the plugins, before its first phase
DIED_BY = {signal.SIGSEGV: "a crash in native code (segmentation fault)", signal.SIGKILL: "the OOM killer or kill -9",
           signal.SIGABRT: "an abort in native code", signal.SIGBUS: "a crash in native code (bus error)",
           signal.SIGTERM: "SIGTERM from outside", signal.SIGINT: "SIGINT from outside"}
# Held while a worker is spawned, so that no other thread's worker starts with the
# environment meant for this one.
_SPAWNING = threading.Lock()


def grace_s() -> float:
    try:
        grace = float(os.environ.get(GRACE_ENV, GRACE_S))
    except ValueError:
        raise UsageError(f"{GRACE_ENV} must be a number of seconds, got {os.environ[GRACE_ENV]!r}") from None
    if not grace >= 0:
        raise UsageError(f"{GRACE_ENV} must be a number of seconds >= 0, got {grace}")
    return grace


@contextlib.contextmanager
def _spawn_environment(environment: Mapping[str, str]) -> Iterator[None]:
    """This process's environment with ``environment`` set, while a worker is spawned."""
    with _SPAWNING:
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class Supervisor:
    """Runs entries in worker processes, a fresh one per entry. One supervisor runs one
    worker at a time, so that with one supervisor no worker's start competes with
    another entry's timed training.

    ``environment``: variables set for its workers. ``stopping``: set by whoever stops
    genbench while this supervisor runs in another thread (which no ``KeyboardInterrupt``
    reaches); its worker is then told to stop (:meth:`stop_worker`), records its run
    interrupted, and :meth:`run` returns without recording a death."""

    def __init__(self, spec: WorkerSpec, environment: Mapping[str, str] | None = None,
                 stopping: threading.Event | None = None) -> None:
        self.spec = spec
        self.grace = grace_s()  # checked before any entry runs
        self.environment = dict(environment or {})
        self.stopping = stopping
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: BaseProcess | None = None

    def run(self, entry: Entry, store: ResultsStore) -> list[RunOutcome]:
        """Executes ``entry`` in a worker; whatever happens to the worker, every run of the
        entry ends recorded (ok or failed, or interrupted when genbench itself is stopped)."""
        from harness import worker

        ours, theirs = self._ctx.Pipe()
        proc = self._ctx.Process(target=worker.main, args=(self.spec, entry, theirs), name="genbench-worker")
        with _spawn_environment(self.environment):
            proc.start()
        self._proc = proc
        theirs.close()
        try:
            outcomes, phase, problem = self._watch(proc, ours)
        except KeyboardInterrupt:
            _stop(proc)  # the worker records its run as interrupted
            raise
        finally:
            ours.close()
            self._proc = None
        if outcomes is not None:
            return outcomes
        if self.stopping is not None and self.stopping.is_set():
            return []  # told to stop: it recorded its run interrupted (or, killed, its run reads so)
        return _record_death(store, entry, problem or _how_it_died(proc.exitcode, phase))

    def stop_worker(self, signum: int = signal.SIGTERM) -> None:
        """Sends the running worker, if any, ``signum`` (from any thread): SIGTERM asks it
        to record its run interrupted and end; SIGKILL ends it."""
        proc = self._proc
        if proc is not None and proc.pid is not None:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(proc.pid, signum)

    def _watch(self, proc: BaseProcess, conn: Connection) -> tuple[list[RunOutcome] | None, str, str | None]:
        """Follows the worker until it reports its outcomes and ends, dies, or overruns a phase."""
        phase, deadline, outcomes = "starting", time.monotonic() + STARTUP_S + self.grace, None
        waiting_on: list = [conn, proc.sentinel]
        while True:
            ready = wait(waiting_on, max(0.0, deadline - time.monotonic()))
            if conn in ready:
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    waiting_on = [proc.sentinel]  # the worker closed its end: it is ending
                    continue
                if kind == "phase":
                    phase, seconds = payload
                    deadline = time.monotonic() + max(0.0, seconds) + self.grace
                elif kind == "done":  # reported: it only has to exit now
                    outcomes, deadline = payload, time.monotonic() + TERM_WAIT_S
                elif kind == "usage":
                    proc.join()
                    raise UsageError(payload)
                continue
            if proc.sentinel in ready:
                proc.join()
                return outcomes, phase, None
            if time.monotonic() >= deadline:
                _stop(proc)
                if outcomes is not None:  # it reported, then lingered (a stray thread): its records stand
                    return outcomes, phase, None
                return None, phase, f"exceeded the wall clock by more than {self.grace:g} s (hung in {_where(phase)}?)"


def _stop(proc: BaseProcess) -> None:
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGTERM)
        proc.join(TERM_WAIT_S)
    if proc.is_alive():
        proc.kill()
        proc.join()


def _where(phase: str) -> str:
    return {"starting": "starting up", "building": "building the generator or its data",
            "training": "train_step", "evaluating": "sample or a metric"}.get(phase, phase)


def _how_it_died(code: int | None, phase: str) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker process was killed by {name} while {phase} ({DIED_BY.get(-code, 'a signal')})"
    return (f"the worker process exited with code {code} while {phase}, without reporting "
            "(os._exit, a crash in a plugin, or a signal from outside?)")


def _record_death(store: ResultsStore, entry: Entry, reason: str) -> list[RunOutcome]:
    outcomes = []
    for run_id in (entry.run_id, *entry.variants):
        run = store.run(run_id)
        if run.status in ("ok", "failed", "running"):  # running: alive in another process, not ours
            continue
        why = reason if run_id == entry.run_id or run.status != "pending" else (
            f"not evaluated: the worker of the run that trains its model ({entry.run_id}) failed: {reason}")
        RunRecorder.open(store, run_id, check=False).fail(why, run.used, why)
        outcomes.append(RunOutcome(run_id, run.run_dir, "failed", why))
    return outcomes
