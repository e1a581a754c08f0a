"""The run-directory format: ``runs/<id>-<suite>-<generator>-<dataset>/`` holding
``options.json`` (the resolved options), ``stats.jsonl`` (one line per evaluation),
``checkpoints/``, ``error.txt`` for a failed run, and the sample grids; in the manner of
NVlabs' EDM. This module is the only code that knows those names."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.errors import UsageError
from harness.records.processes import ProcessId

KEEP_CHECKPOINTS = 2


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", name)


def check_writable(root: Path) -> None:
    """Fails early (before anything is recorded) if runs cannot be written under root."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"output directory {root} is not writable ({exc.strerror}); "
                         "pass a writable --out DIR") from exc


@dataclass(frozen=True)
class RunDir:
    """One run's folder."""

    path: Path

    @classmethod
    def create(cls, root: Path, suite: str, generator: str, dataset: str) -> tuple[str, RunDir]:
        """A fresh run directory; returns (run id, folder). The id is a sequence number
        (for humans) plus a random suffix (unique across roots sharing one database)."""
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create output directory {root}: {exc.strerror}") from exc
        for _ in range(100):
            numbers = [int(m[1]) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
            run_id = f"{max(numbers, default=-1) + 1:05d}-{secrets.token_hex(2)}"
            path = root / f"{run_id}-{_safe(suite)}-{_safe(generator)}-{_safe(dataset)}"
            try:
                path.mkdir()  # atomic: two suites writing to one root never share a directory
                return run_id, cls(path)
            except FileExistsError:
                continue
        raise RuntimeError(f"could not allocate a run directory under {root}")

    # -- the files ---------------------------------------------------------------------

    @property
    def options_file(self) -> Path:
        return self.path / "options.json"

    @property
    def stats_file(self) -> Path:
        return self.path / "stats.jsonl"

    @property
    def error_file(self) -> Path:
        return self.path / "error.txt"

    @property
    def samples_grid(self) -> Path:
        return self.path / "samples.png"

    @property
    def ground_truth_grid(self) -> Path:
        return self.path / "ground_truth.png"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def lock_file(self) -> Path:
        return self.path / ".lock"

    def held(self) -> bool:
        """Whether a process holds the folder now (works across hosts that share it)."""
        try:
            fd = os.open(self.lock_file, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds the folder for one process at a time (an advisory ``flock``, released
        when the process ends however it ends); a second holder is refused, by name."""
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot use the run folder {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 1000).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise UsageError(f"run folder {self.path} is in use by {holder}; wait for it to end, "
                             "or stop that process first") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{ProcessId.current().describe()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            yield
        finally:
            os.close(fd)

    # -- options -----------------------------------------------------------------------

    def write_options(self, options: dict[str, Any]) -> None:
        write_atomic(self.options_file, json.dumps(options, indent=2, sort_keys=True, default=str) + "\n")

    def read_options(self) -> dict[str, Any]:
        try:
            options = json.loads(self.options_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read {self.options_file}: {exc}") from exc
        if not isinstance(options, dict):
            raise UsageError(f"{self.options_file} does not hold a JSON object")
        return options

    # -- the evaluation log ------------------------------------------------------------

    def append_stats(self, record: dict[str, Any]) -> None:
        with open(self.stats_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=float) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def stats(self) -> list[dict[str, Any]]:
        if not self.stats_file.is_file():
            return []
        return [json.loads(line) for line in self.stats_file.read_text(encoding="utf-8").splitlines() if line]

    def trim_stats(self, images_seen: int) -> None:
        """Drops the lines logged after ``images_seen`` (a resumed run logs them again)."""
        if not self.stats_file.is_file():
            return
        kept = [line for line in self.stats_file.read_text(encoding="utf-8").splitlines()
                if line and json.loads(line).get("images_seen", 0) <= images_seen]
        write_atomic(self.stats_file, "".join(line + "\n" for line in kept))

    # -- checkpoints -------------------------------------------------------------------

    def save_checkpoint(self, images_seen: int, state: dict[str, Any]) -> Path:
        """Writes atomically and keeps the newest few. Serialized in memory first, so that
        a full disk is reported as such (torch's own writer reports only a bad position)."""
        import torch  # here, so that reading records never loads torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        path = write_atomic(self.checkpoints / f"ckpt-{images_seen:010d}.pt", buffer.getbuffer())
        for old in sorted(self.checkpoints.glob("ckpt-*.pt"))[:-KEEP_CHECKPOINTS]:
            old.unlink()
        return path

    def latest_checkpoint(self) -> Path | None:
        found = sorted(self.checkpoints.glob("ckpt-*.pt"))
        return found[-1] if found else None

    def load_checkpoint(self, path: Path) -> dict[str, Any]:
        """A checkpoint's tensors and plain containers; never unpickles arbitrary objects."""
        import torch

        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a damaged or crafted file
            raise UsageError(f"cannot load the checkpoint {path}: {type(exc).__name__}: {exc}") from exc

    def write_error(self, text: str) -> None:
        write_atomic(self.error_file, text)
