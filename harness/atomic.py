"""The one way genbench writes a file: to a uniquely named temporary file in the same
folder, flushed to disk, then renamed over the destination. A reader never sees half a
file, two writers never share a temporary name, a crash leaves the old file whole, and a
failed write leaves no temporary file behind. Renaming replaces a symlink at the
destination instead of writing through it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to (by any writer: ``torch.save``,
    PIL, matplotlib); on a clean exit it is synced and renamed to ``path``.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique folder beside the destination, holding a file of the destination's own
    # name: writers that derive something from the name (torch.save's archive name, an
    # image format from the extension) write the same bytes as to the destination.
    folder = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    tmp = folder / path.name
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()


def write_atomic(path: Path, data: str | bytes | memoryview) -> Path:
    """Writes ``data`` (text as UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
