"""The supervisor side of process isolation: one spawned worker process per suite entry
(spawned, not forked, so CUDA works in it), watched until it reports or dies.

The worker reports each phase it enters, with the time the phase may take (the
budget's wall clock); the supervisor allows that plus ``GRACE_S``, then sends SIGTERM,
then SIGKILL, and records the run as failed. A worker that dies (``os._exit``, a
segfault, the OOM killer) has its unfinished runs recorded as failed, with how it died.
The worker never decides the suite's exit code: the supervisor reads the records."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from harness.errors import UsageError
from harness.execution import Entry, RunOutcome
from harness.records import ResultsStore, RunRecorder

GRACE_ENV = "GENBENCH_GRACE_S"
GRACE_S = 30.0  # beyond a phase's allowance (a last step, a checkpoint, a slow import)
TERM_WAIT_S = 10.0  # between SIGTERM and SIGKILL
INTERRUPTED = {128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGHUP}  # the worker's own exit codes
DIED_BY = {signal.SIGSEGV: "a crash in native code (segmentation fault)", signal.SIGKILL: "the OOM killer or kill -9",
           signal.SIGABRT: "an abort in native code", signal.SIGBUS: "a crash in native code (bus error)",
           signal.SIGTERM: "SIGTERM from outside"}


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to run entries of a store (everything serializable)."""

    db: str
    out: str
    device: str
    show_progress: bool | None
    tensorboard: str | None


def grace_s() -> float:
    return float(os.environ.get(GRACE_ENV, GRACE_S))


class Supervisor:
    """Runs entries in worker processes, one fresh process per entry. While an entry runs,
    the next worker is already starting (importing torch, loading the plugins), so that
    isolation costs little more than a process start on the critical path."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self._ctx = multiprocessing.get_context("spawn")
        self._spare: tuple[multiprocessing.process.BaseProcess, Connection] | None = None

    def _spawn(self) -> tuple[multiprocessing.process.BaseProcess, Connection]:
        from harness import worker

        ours, theirs = self._ctx.Pipe()
        # daemon: a worker still warming up when genbench exits is ended with it.
        proc = self._ctx.Process(target=worker.main, args=(self.spec, theirs), name="genbench-worker", daemon=True)
        proc.start()
        theirs.close()
        return proc, ours

    def run(self, entry: Entry, store: ResultsStore, more: bool = False) -> list[RunOutcome]:
        """Executes ``entry`` in a worker; whatever happens to the worker, every run of the
        entry ends recorded (ok, failed or, on an interrupt, interrupted). ``more``: another
        entry follows, so start its worker now."""
        proc, conn = self._spare or self._spawn()
        self._spare = None
        with contextlib.suppress(OSError):  # if it died while warming up, its exit code says how
            conn.send(("entry", entry))
        if more:
            self._spare = self._spawn()
        try:
            outcomes, phase, problem = _watch(proc, conn)
        except KeyboardInterrupt:
            _stop(proc, signal.SIGTERM)  # the worker records its run as interrupted
            raise
        finally:
            conn.close()
        if outcomes is not None:
            return outcomes
        if problem is None and proc.exitcode in INTERRUPTED:
            return []  # stopped from outside: the worker recorded its run as interrupted, resumable
        return _record_death(store, entry, problem or _how_it_died(proc.exitcode, phase))

    def close(self) -> None:
        if self._spare is not None:
            proc, conn = self._spare
            self._spare = None
            with contextlib.suppress(OSError):
                conn.send(("exit", None))
            proc.join(TERM_WAIT_S)
            _stop(proc, signal.SIGTERM)
            conn.close()


def _watch(proc, conn: Connection) -> tuple[list[RunOutcome] | None, str, str | None]:
    """Follows the worker until it reports its outcomes, dies or overruns a phase."""
    phase, deadline, outcomes = "starting", None, None
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready = wait([conn, proc.sentinel], timeout)
        if conn in ready:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                conn = None  # the worker closed its end (it is ending); wait for the process
                ready = wait([proc.sentinel], None if deadline is None else max(0.0, deadline - time.monotonic()))
            else:
                if kind == "phase":
                    phase, seconds = payload
                    deadline = None if seconds is None else time.monotonic() + max(0.0, seconds) + grace_s()
                elif kind == "done":
                    outcomes = payload
                elif kind == "usage":
                    proc.join()
                    raise UsageError(payload)
                continue
        if proc.sentinel in ready or not proc.is_alive():
            proc.join()
            return outcomes, phase, None
        if deadline is not None and time.monotonic() >= deadline:
            _stop(proc, signal.SIGTERM)
            return None, phase, f"exceeded the wall clock by more than {grace_s():g} s (hung in {_where(phase)}?)"


def _stop(proc, signum: int) -> None:
    if proc.is_alive():
        os.kill(proc.pid, signum)
        proc.join(TERM_WAIT_S)
    if proc.is_alive():
        proc.kill()
        proc.join()


def _where(phase: str) -> str:
    return {"building": "building the generator or its data", "training": "train_step",
            "evaluating": "sample or a metric"}.get(phase, phase)


def _how_it_died(code: int | None, phase: str) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        return f"the worker process was killed by {name} while {phase} ({DIED_BY.get(-code, 'a signal')})"
    return (f"the worker process exited with code {code} while {phase}, without reporting "
            "(os._exit or a crash in a plugin?)")


def _record_death(store: ResultsStore, entry: Entry, reason: str) -> list[RunOutcome]:
    outcomes = []
    for run_id in (entry.run_id, *entry.variants):
        run = store.run(run_id)
        if run.status in ("ok", "failed", "running"):  # running: alive in another process, not ours
            continue
        why = reason if run_id == entry.run_id or run.status != "pending" else (
            f"not evaluated: the worker of the run that trains its model ({entry.run_id}) failed: {reason}")
        RunRecorder.open(store, run_id).fail(why, run.used, why)
        outcomes.append(RunOutcome(run_id, run.run_dir, "failed", why))
    return outcomes
