"""Saving image tensors ([-1, 1], NCHW) as PNG files and grids."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from harness.atomic import atomic_path


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats to uint8 as a PNG writer would store them (round to nearest)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """A grid (H, W, C) uint8 array of up to nrow x nrow images."""
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    canvas = torch.zeros(c, rows * (h + pad) + pad, nrow * (w + pad) + pad, dtype=torch.uint8)
    u8 = to_uint8(images.cpu())
    for i in range(n):
        r, k = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        canvas[:, top:top + h, left:left + w] = u8[i]
    return canvas.permute(1, 2, 0).numpy()


def save_png(array: np.ndarray, path: Path, upscale: int = 1) -> Path:
    img = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if upscale > 1:
        img = img.resize((img.width * upscale, img.height * upscale), Image.NEAREST)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return path


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None, upscale: int = 2) -> Path:
    return save_png(grid(images, nrow), path, upscale)
