"""How the ray driver asks its running tasks to stop on Ctrl-C without ``ray.cancel``:
a stop file under ``--out`` (which every node sees), named for this driver alone, that
each task watches from a thread and answers by interrupting its entry, which records
its run interrupted and returns.

Why not ``ray.cancel``: Ray 2.60's cancel of a running task races the task's own reply,
and when the reply wins, Ray's core aborts the driver process ("Tried to complete task
that was not pending", ray-project/ray#54846), so genbench ended with exit 1 and no
account of its entries. A task that stops by itself sends one ordinary reply."""

from __future__ import annotations

import contextlib
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

POLL_S = 0.5  # how often a task looks for the stop file


class StopRequest:
    """The driver's side: a stop file of its own under ``out``; ``request`` creates it,
    ``close`` removes it (a later ``--resume`` must not read it as its own)."""

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out) / f".genbench-stop-{uuid.uuid4().hex}"

    def request(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class StopWatch:
    """The task's side, in the task's main thread: while ``watching``, a thread that
    finds the stop file sends the main thread SIGINT (a ``KeyboardInterrupt``) once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.fired = False
        self._done = threading.Event()

    def requested(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        # A Ray worker may block SIGINT, ignore it, or end on it; here it is to interrupt the entry.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        watcher = threading.Thread(target=self._watch, name="genbench-stop-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            try:
                self._done.set()
                watcher.join()
            finally:  # even when the interrupt lands here, as the entry ends by itself
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                signal.signal(signal.SIGINT, previous)

    def _watch(self) -> None:
        while not self._done.wait(POLL_S):
            if self.requested():
                self.fired = True
                # A signal, not _thread.interrupt_main: it also wakes a main thread blocked in a system call.
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                return
