"""Which process runs a run, and whether that process is still there: a run recorded as
``running`` whose process is gone was interrupted (killed, or its machine went down)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


def _start_time(pid: int) -> float | None:
    """The process's start time in clock ticks since boot (Linux), which tells a live
    process from a later one that reused its pid; None where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return float(stat.rsplit(")", 1)[1].split()[19])  # field 22, after the command name


@dataclass(frozen=True)
class ProcessId:
    host: str
    pid: int
    started: float | None

    @classmethod
    def current(cls) -> ProcessId:
        return cls(socket.gethostname(), os.getpid(), _start_time(os.getpid()))

    def alive(self) -> bool | None:
        """True or False on this host; None (unknown) for a process on another host."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, under another user
        started = _start_time(self.pid)
        return self.started is None or started is None or started == self.started

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"
