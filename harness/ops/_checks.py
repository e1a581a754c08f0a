"""Input validation shared by the reference implementations and the fake (meta) kernels.

The messages match the C++ checks in csrc/checks.cpp, so a bad call reads the same
whichever backend runs it.
"""

from __future__ import annotations

import torch

ACTS = ("linear", "relu", "lrelu", "silu")
MODES = ("nearest", "bilinear")
MAX_SCALE = 8
TABLE_ROWS = 8
FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def memory_format(x: torch.Tensor) -> torch.memory_format:
    """The layout an op keeps for its output: channels_last if x is, else contiguous."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _float_dtype(x: torch.Tensor, op: str, name: str) -> None:
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32, float16, bfloat16 or float64, got {x.dtype}")


def bias_act_upsample(
    x: torch.Tensor, bias: torch.Tensor, act: str, scale: int, mode: str, op: str = "bias_act_upsample"
) -> torch.memory_format:
    if x.dim() != 4:
        raise ValueError(f"{op}: x must be 4-D (N, C, H, W), got {x.dim()}-D")
    if bias.dim() != 1 or bias.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: bias must have shape (C,) = ({x.shape[1]},), got {tuple(bias.shape)}")
    if not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"{op}: scale must be an integer in [1, {MAX_SCALE}], got {scale!r}")
    if x.device != bias.device:
        raise RuntimeError(f"{op}: x and bias must be on the same device, got {x.device} and {bias.device}")
    _float_dtype(x, op, "x")
    if x.dtype != bias.dtype:
        raise TypeError(f"{op}: x and bias must have the same dtype, got {x.dtype} and {bias.dtype}")
    if act not in ACTS:
        raise ValueError(f"{op}: unknown act {act!r}; expected one of {', '.join(ACTS)}")
    if mode not in MODES:
        raise ValueError(f"{op}: unknown mode {mode!r}; expected nearest or bilinear")
    return memory_format(x)


def timesteps(t: torch.Tensor, T: int, op: str, name: str, lowest: int = 0) -> None:
    # Only where it costs no device sync: on CUDA the kernels write NaN for a bad t instead.
    if t.device.type != "cpu" or t.numel() == 0:
        return
    bad = ((t < lowest) | (t >= T)).nonzero()
    if bad.numel():
        n = int(bad[0, 0])
        raise IndexError(f"{op}: {name}[{n}] = {int(t[n])} is out of range [{lowest}, {T})")


def schedule_args(
    x: torch.Tensor,
    other: torch.Tensor,
    t: torch.Tensor,
    table: torch.Tensor,
    op: str,
    other_name: str,
    check_values: bool = True,
) -> int:
    if x.dim() < 1 or x.shape[0] < 1:
        raise ValueError(f"{op}: x must have a batch dimension")
    if x.shape != other.shape:
        raise ValueError(f"{op}: {other_name} must have x's shape {tuple(x.shape)}, got {tuple(other.shape)}")
    _float_dtype(x, op, "x")
    if x.dtype != other.dtype:
        raise TypeError(f"{op}: x and {other_name} must have the same dtype, got {x.dtype} and {other.dtype}")
    if not (x.device == other.device == t.device == table.device):
        raise RuntimeError(
            f"{op}: x, {other_name}, t and the schedule must be on one device, got "
            f"{x.device}, {other.device}, {t.device}, {table.device}"
        )
    if t.dtype != torch.int64:
        raise TypeError(f"{op}: t must be int64, got {t.dtype}")
    if t.dim() != 1 or t.shape[0] != x.shape[0]:
        raise ValueError(f"{op}: t must hold one timestep per sample, shape ({x.shape[0]},), got {tuple(t.shape)}")
    if table.dtype != torch.float32 or table.dim() != 2 or table.shape[0] != TABLE_ROWS:
        raise ValueError(f"{op}: schedule table must be a contiguous ({TABLE_ROWS}, T) float32 tensor")
    if check_values:  # fake tensors (torch.compile tracing) have no values to check
        timesteps(t, table.shape[1], op, "t")
    return table.shape[1]


def noise(x: torch.Tensor, z: torch.Tensor | None, op: str) -> None:
    if z is None:
        return
    if z.shape != x.shape:
        raise ValueError(f"{op}: noise must have x's shape {tuple(x.shape)}, got {tuple(z.shape)}")
    if z.dtype != x.dtype:
        raise TypeError(f"{op}: noise must have x's dtype {x.dtype}")
    if z.device != x.device:
        raise RuntimeError(f"{op}: noise must be on x's device {x.device}")
