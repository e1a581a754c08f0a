"""Exceptions with a meaning for the command line (and its exit codes)."""


class UsageError(Exception):
    """Bad input from the user: a one-line message naming the problem; exit code 2."""


class RunFailed(Exception):
    """A generator failed during a run (raised, or produced a non-finite loss)."""

    def __init__(self, reason: str, step: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.step = reason, step


class OutputFailed(Exception):
    """An output could not be written (a full disk, a vanished folder): a one-line
    message, exit code 1; what was recorded before it is kept."""
