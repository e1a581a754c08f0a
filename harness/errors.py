"""Exceptions with a meaning for the command line (and its exit codes), and how warnings
are shown."""

import sys


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


def shorten(text: object, limit: int = 200) -> str:
    """A message (an exception's, a repr) on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def one_line(text: str) -> str:
    """Text a plugin wrote, as one line of plain text: control characters (a newline,
    a terminal escape) become spaces, so a reason cannot break a log line, a Markdown
    table or a terminal; the whole text stays in ``error.txt``."""
    return " ".join("".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in text).split())


def one_line_warnings() -> None:
    """Warnings as genbench's other messages are: ``genbench: warning: ...`` on one line,
    not Python's file, line and source line."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"genbench: warning: {message}", file=file or sys.stderr)

    warnings.showwarning = show
