"""A run directory: ``runs/<id>-<suite>-<generator>-<dataset>/`` with ``options.json``,
``stats.jsonl``, ``checkpoints/`` and sample grids (in the manner of NVlabs' EDM)."""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

import torch

from harness.errors import UsageError

KEEP_CHECKPOINTS = 2


def make(root: Path, suite: str, generator: str, dataset: str) -> tuple[str, Path]:
    """Creates a fresh run directory; returns (run id, path). The id is a sequence number
    (for humans) plus a random suffix (unique across roots sharing one database)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output directory {root}: {exc.strerror}") from exc
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.]+", "_", s)  # noqa: E731
    for _ in range(100):
        numbers = [int(m[1]) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
        run_id = f"{max(numbers, default=-1) + 1:05d}-{secrets.token_hex(2)}"
        path = root / f"{run_id}-{safe(suite)}-{safe(generator)}-{safe(dataset)}"
        try:
            path.mkdir()  # atomic: two suites writing to one root never share a directory
            return run_id, path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not allocate a run directory under {root}")


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


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def append_stats(run_dir: Path, record: dict[str, Any]) -> None:
    with open(run_dir / "stats.jsonl", "a") as f:
        f.write(json.dumps(record, default=float) + "\n")
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(run_dir: Path, images_seen: int, state: dict[str, Any]) -> Path:
    """Writes atomically (temp file, then rename) and keeps the newest few."""
    folder = run_dir / "checkpoints"
    folder.mkdir(exist_ok=True)
    path = folder / f"ckpt-{images_seen:010d}.pt"
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    for old in sorted(folder.glob("ckpt-*.pt"))[:-KEEP_CHECKPOINTS]:
        old.unlink()
    return path


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted((run_dir / "checkpoints").glob("ckpt-*.pt"))
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)
