"""Which GPU each of the local executor's worker slots gets: pure functions, so the
decision is tested where there is no GPU."""

from __future__ import annotations

VISIBLE = "CUDA_VISIBLE_DEVICES"


def default_jobs(device: str, gpu_count: int) -> int:
    """``--jobs`` when not given: one worker per GPU where the entries run on CUDA (and
    say which GPU only through the slot's pinning), else one."""
    return gpu_count if device == "cuda" and gpu_count > 1 else 1


def visible_devices(slots: int, device: str, gpu_count: int, inherited: str | None) -> list[str | None]:
    """``CUDA_VISIBLE_DEVICES`` for each of ``slots`` workers running at once (None:
    left as it is). Only a device of plain ``cuda`` is pinned: ``cuda:N`` names its GPU
    itself, and one slot keeps every GPU as a single worker always has. The GPUs are
    those this process sees (``inherited``, the variable as it is set here, or all
    ``gpu_count``), dealt round-robin: more slots than GPUs share them."""
    if slots < 2 or device != "cuda" or gpu_count < 1:
        return [None] * slots
    ids = [i.strip() for i in inherited.split(",") if i.strip()] if inherited else []
    ids = ids[:gpu_count] or [str(i) for i in range(gpu_count)]  # torch counts those listed, up to a bad one
    return [ids[slot % len(ids)] for slot in range(slots)]
