"""Which implementation of the fused ops runs: the compiled kernels or the reference.

``GENBENCH_OPS`` picks it: ``auto`` (default: the compiled kernel for the tensor's
device when it was built, else the reference), ``cpu``, ``cuda`` or ``reference``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

CHOICES = ("auto", "cpu", "cuda", "reference")

try:
    from harness import _C  # noqa: F401  (loading it registers torch.ops.genbench.*)

    BUILD_INFO: dict = json.loads(torch.ops.genbench.build_info())
    LOAD_ERROR: str | None = None
except (ImportError, OSError, RuntimeError) as exc:  # no compiled extension: reference only
    BUILD_INFO = {"cpu": False, "cuda": False}
    LOAD_ERROR = f"{type(exc).__name__}: {exc}"



def _validate(choice: str) -> str:
    if choice not in CHOICES:
        raise ValueError(f"GENBENCH_OPS={choice!r} is not one of {', '.join(CHOICES)}")
    return choice


# Read once: the ops are called in hot loops, and the environment of a run is fixed.
_setting: str = _validate(os.environ.get("GENBENCH_OPS", "auto").strip().lower() or "auto")


def setting() -> str:
    """The requested backend: from :func:`use_backend`, else ``GENBENCH_OPS`` (read at
    import), else ``auto``."""
    return _setting


@contextmanager
def use_backend(choice: str) -> Iterator[None]:
    """Force a backend for the duration of a ``with`` block (for A/B runs and tests)."""
    global _setting
    previous, _setting = _setting, _validate(choice)
    try:
        yield
    finally:
        _setting = previous


def built_backends() -> list[str]:
    """The kernel backends compiled into harness._C, plus ``reference`` (always there)."""
    return [b for b in ("cuda", "cpu") if BUILD_INFO.get(b)] + ["reference"]


def backend_for(device: torch.device | str) -> str:
    """The backend the ops use for tensors on ``device`` under the current setting."""
    device_type = device.type if isinstance(device, torch.device) else torch.device(device).type
    choice = _setting
    if choice == "reference":
        return "reference"
    if choice == "auto":
        return device_type if BUILD_INFO.get(device_type) else "reference"
    if not BUILD_INFO.get(choice):
        reason = LOAD_ERROR or f"harness._C was built without {choice} kernels"
        raise RuntimeError(f"GENBENCH_OPS={choice} but that backend is unavailable ({reason})")
    if choice != device_type:
        raise RuntimeError(f"GENBENCH_OPS={choice} cannot run ops on a {device_type} tensor")
    return choice
