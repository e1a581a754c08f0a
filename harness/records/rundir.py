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
import zipfile
from collections.abc import Callable, Iterator
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

    def unreachable(self, process: ProcessId | None) -> str:
        """Why a recorded run's files are not here: its folder, on a path this machine
        does not see (a cluster's --out must be shared by every node)."""
        where = f" (it ran on {process.host})" if process is not None else ""
        return (f"its run folder {self.path} cannot be reached from this machine{where}; its checkpoints, sample "
                "grids and stats.jsonl are there (is --out on storage every node shares?)")

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
        """``options.json`` as written; whether it holds what a run needs is ``records.options``'s to say."""
        try:
            options = json.loads(self.options_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read {self.options_file}: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise UsageError(f"{self.options_file} is not JSON ({exc}); it must hold the run's options as a JSON "
                             "object (it is written when the run starts)") from exc
        if not isinstance(options, dict):
            raise UsageError(f"{self.options_file} holds {type(options).__name__}, not a JSON object of the run's "
                             "options")
        return options

    # -- the evaluation log ------------------------------------------------------------

    def append_stats(self, record: dict[str, Any]) -> None:
        with open(self.stats_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=float) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _stat_lines(self) -> list[tuple[str, dict[str, Any]]]:
        """Each line of the log with its record; a damaged line is a UsageError naming it."""
        if not self.stats_file.is_file():
            return []
        try:
            text = self.stats_file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{self.stats_file} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except OSError as exc:
            raise UsageError(f"cannot read {self.stats_file}: {exc.strerror or exc}") from exc
        lines = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise UsageError(f"{self.stats_file}, line {number}: not JSON ({exc})") from exc
            seen = record.get("images_seen") if isinstance(record, dict) else None
            if not isinstance(seen, int) or isinstance(seen, bool) or seen < 0:
                raise UsageError(f"{self.stats_file}, line {number}: not an evaluation's record (a JSON object "
                                 "with images_seen, a whole number >= 0)")
            lines.append((line, record))
        return lines

    def stats(self) -> list[dict[str, Any]]:
        """The evaluation log; a damaged line is a UsageError that names it."""
        return [record for _, record in self._stat_lines()]

    def trimmed_stats(self, images_seen: int, recorded: Callable[[], list[dict[str, Any]]]
                      ) -> tuple[list[str], str | None]:
        """The lines of the log up to ``images_seen`` (a resumed run logs the later ones
        again), and what was damaged: a damaged log, or one whose evaluations are not
        those ``recorded()`` (the database's, the same records), is rebuilt from those."""
        if self.stats_file.exists() and not self.stats_file.is_file():
            raise UsageError(f"{self.stats_file} is not a file; it must be the run's evaluation log (JSON lines): "
                             "remove it, and a resume rebuilds it from the database")
        known = recorded()
        try:
            kept = [(line, r) for line, r in self._stat_lines() if r["images_seen"] <= images_seen]
            logged, expected = {r["images_seen"] for _, r in kept}, {r["images_seen"] for r in known}
            if known and logged != {i for i in expected if i <= images_seen}:
                raise UsageError(f"{self.stats_file} logs evaluations at {sorted(logged)} images seen, but the "
                                 f"database records them at {sorted(i for i in expected if i <= images_seen)}")
            return [line for line, _ in kept], None
        except UsageError as exc:
            return [json.dumps(r, default=float) for r in known if r["images_seen"] <= images_seen], str(exc)

    def write_stats(self, lines: list[str]) -> None:
        if lines or self.stats_file.is_file():
            write_atomic(self.stats_file, "".join(line + "\n" for line in lines))

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

    def checkpoint_files(self) -> list[Path]:
        """The checkpoints, newest (most images seen) first."""
        return sorted(self.checkpoints.glob("ckpt-*.pt"), reverse=True)

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoint_files()
        return found[0] if found else None

    def load_checkpoint(self, path: Path) -> dict[str, Any]:
        """A checkpoint's tensors and plain containers (``weights_only``: never unpickles
        arbitrary objects), with the trainer state every genbench checkpoint holds."""
        import torch

        try:
            with zipfile.ZipFile(path) as archive:  # torch checks no checksum: a flipped bit would load
                bad = archive.testzip()
            state = None if bad else torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch and zipfile raise many types for a damaged or crafted file
            what = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            raise UsageError(f"cannot load the checkpoint {path}: {what}") from exc
        if bad:
            raise UsageError(f"cannot load the checkpoint {path}: its part {bad} fails its checksum (damaged)")
        trainer = state.get("trainer") if isinstance(state, dict) else None
        seen = trainer.get("images_seen") if isinstance(trainer, dict) else None
        if not isinstance(seen, int) or isinstance(seen, bool) or not isinstance(state.get("generator"), dict):
            raise UsageError(f"{path} is not a genbench checkpoint (no generator and trainer state in it)")
        if path.name != f"ckpt-{seen:010d}.pt":
            raise UsageError(f"{path} holds the state at {seen} images seen, which its name does not say")
        return state

    def set_aside(self, path: Path) -> Path:
        """Moves a damaged checkpoint out of the way (kept, for a look), so that no later
        session reads it and a new checkpoint of the same name can be written."""
        for n in range(1000):
            aside = path.with_name(f"{path.name}.damaged{n or ''}")
            if not aside.exists():
                try:
                    os.replace(path, aside)
                except OSError as exc:
                    raise UsageError(f"cannot set the damaged checkpoint {path} aside: {exc.strerror}") from exc
                return aside
        raise UsageError(f"cannot set the damaged checkpoint {path} aside: too many damaged copies next to it")

    def write_error(self, text: str) -> None:
        write_atomic(self.error_file, text)
