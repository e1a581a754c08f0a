"""The environment a result was produced in: versions, device, ops backends, git commit."""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from harness import ops

PACKAGES = ("genbench", "torch", "torchvision", "numpy", "scipy", "pytorch-fid", "pluggy")


def version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()} ({os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads)"


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the genbench checkout in use (None outside a git checkout); asked
    of git once per process, not once per recorded run."""
    src = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return None


def collect(device: torch.device | None = None, seeds: list[int] | None = None) -> dict[str, Any]:
    """The environment record stored with every run."""
    device = device or torch.device("cpu")
    return {
        "versions": {p: version(p) for p in PACKAGES}
        | {"torch": torch.__version__, "python": platform.python_version()},
        "device": str(device),
        "device_name": device_name(device),
        "cuda_available": torch.cuda.is_available(),
        "ops_backend": ops.backend_for(device),
        "ops_setting": ops.setting(),
        "ops_built": ops.built_backends(),
        "ops_build_info": ops.BUILD_INFO,
        "ops_load_error": ops.LOAD_ERROR,
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "seeds": seeds,
    }
