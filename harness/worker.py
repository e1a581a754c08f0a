"""The worker side of process isolation: the entry point of a spawned process that
executes one suite entry and reports its phases and outcomes to the supervisor."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from harness.errors import UsageError
from harness.supervisor import WorkerSpec

PR_SET_PDEATHSIG = 1
_stopping: list[int] = []


class Stopped(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP: the run is recorded as interrupted, and the worker ends."""


def _stop(signum: int, frame: object) -> None:
    # The first signal interrupts the run; later ones (Ctrl-C reaches the worker and the
    # supervisor, which then asks the worker to stop too) must not cut its recording short.
    if not _stopping:
        _stopping.append(signum)
        raise Stopped(signal.Signals(signum).name)


def _end_with_the_supervisor() -> None:
    """Linux: SIGTERM when the supervisor dies (even by SIGKILL), so that no orphan
    worker goes on writing a run that a resume may be about to take over."""
    # Elsewhere an orphan finishes its run; the folder lock keeps a resume out meanwhile.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def main(spec: WorkerSpec, conn: Connection) -> None:
    """Runs in the spawned process: warms up (torch, the plugins, the store), then waits
    for the one entry it executes."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    _end_with_the_supervisor()
    import torch

    from harness.execution import EntryExecutor
    from harness.plugins import Host
    from harness.records import ResultsStore

    def on_phase(phase: str, seconds: float | None) -> None:
        try:
            conn.send(("phase", (phase, seconds)))
        except OSError:  # the supervisor is gone (killed): stop as if told to, so the run is resumable
            raise Stopped("the supervisor is gone") from None

    try:
        executor = EntryExecutor(Host(), ResultsStore(spec.db), Path(spec.out), torch.device(spec.device),
                                 spec.show_progress, None if spec.tensorboard is None else Path(spec.tensorboard),
                                 on_phase)
        kind, entry = conn.recv()
        if kind != "entry":
            return
        outcomes = executor.run(entry)
    except KeyboardInterrupt:
        sys.exit(128 + (_stopping[0] if _stopping else signal.SIGINT))
    except UsageError as exc:  # bad input (a damaged checkpoint, say): genbench says so and exits 2
        with contextlib.suppress(OSError):
            conn.send(("usage", str(exc)))
        sys.exit(2)
    with contextlib.suppress(OSError):  # a supervisor killed meanwhile reads the records instead
        conn.send(("done", outcomes))
        conn.close()
