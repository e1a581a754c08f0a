"""The worker side of process isolation: the entry point of a spawned process that
executes one suite entry and reports its phases and outcomes to the supervisor. This
module imports nothing heavy, so that the signal handlers are in place before torch
and the plugins load."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

PR_SET_PDEATHSIG = 1
_stopping: list[int] = []


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to run an entry of a store (everything serializable)."""

    db: str = field(repr=False)  # may hold a password
    out: str
    device: str
    show_progress: bool | None
    tensorboard: str | None
    supervisor_pid: int = field(default_factory=os.getpid)


class Stopped(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP: the run is recorded as interrupted, and the worker ends."""


def _stop(signum: int, frame: object) -> None:
    # The first signal interrupts the run; later ones (Ctrl-C reaches the worker and the
    # supervisor, which then asks the worker to stop too) must not cut its recording short.
    if not _stopping:
        _stopping.append(signum)
        raise Stopped(signal.Signals(signum).name)


def _end_with_the_supervisor(supervisor_pid: int) -> None:
    """Linux: SIGTERM when the supervisor dies (even by SIGKILL), so that no orphan
    worker goes on writing a run that a resume may be about to take over."""
    # Elsewhere an orphan finishes its run; the folder lock keeps a resume out meanwhile.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor_pid:  # it died before the request was in place
        sys.exit(128 + signal.SIGTERM)


def main(spec: WorkerSpec, entry: Any, conn: Connection) -> None:
    """Runs in the spawned process."""
    from harness.errors import one_line_warnings

    one_line_warnings()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        _end_with_the_supervisor(spec.supervisor_pid)
        outcomes = _execute(spec, entry, conn)
    except KeyboardInterrupt:
        sys.exit(128 + (_stopping[0] if _stopping else signal.SIGINT))
    except Exception as exc:
        from harness.errors import UsageError

        if not isinstance(exc, UsageError):
            raise
        with contextlib.suppress(OSError):  # bad input (a damaged checkpoint, say): exit 2, said once
            conn.send(("usage", str(exc)))
        sys.exit(2)
    with contextlib.suppress(OSError):  # a supervisor killed meanwhile reads the records instead
        conn.send(("done", outcomes))
        conn.close()


def _execute(spec: WorkerSpec, entry: Any, conn: Connection) -> list:
    from pathlib import Path

    import torch

    from harness.execution import EntryExecutor
    from harness.plugins import Host
    from harness.records import ResultsStore

    def on_phase(phase: str, seconds: float) -> None:
        try:
            conn.send(("phase", (phase, seconds)))
        except OSError:  # the supervisor is gone (killed): stop as if told to, so the run is resumable
            raise Stopped("the supervisor is gone") from None

    executor = EntryExecutor(Host(quiet=True), ResultsStore(spec.db), Path(spec.out), torch.device(spec.device),
                             spec.show_progress, None if spec.tensorboard is None else Path(spec.tensorboard),
                             on_phase)
    return executor.run(entry)
