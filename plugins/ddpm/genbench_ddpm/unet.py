"""The noise-prediction UNet of DDPM (Ho et al. 2020), small: residual blocks with
GroupNorm and SiLU, a sinusoidal timestep embedding, self-attention at the lowest
resolution, strided-conv downsampling, and an up path whose norm -> SiLU -> upsample
runs on the fused ``bias_act_upsample``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from harness import ops


def groups_for(channels: int) -> int:
    """GroupNorm groups: 8 channels a group at most 32 groups, as in DDPM's 32-of-128."""
    return max(1, min(32, channels // 8))


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al.; DDPM appendix B)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, t_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups_for(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(t_dim, c_out)
        self.norm2 = nn.GroupNorm(groups_for(c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(t_emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Single-head self-attention over the positions of a feature map."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups_for(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).transpose(2, 3).unbind(1)
        y = F.scaled_dot_product_attention(q, k, v)  # (n, hw, c)
        return x + self.out(y.transpose(1, 2).reshape(n, c, h, w))


class Upsample(nn.Module):
    """GroupNorm, then bias + SiLU + 2x nearest upsampling in one fused pass, then a conv.
    The norm carries no bias of its own: the fused op adds it."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups_for(channels), channels, affine=False)
        self.scale = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x) * self.scale[:, None, None]
        return self.conv(ops.bias_act_upsample(h, self.bias, act="silu", scale=2))


def levels_for(resolution: int, lowest: int) -> int:
    """How many resolutions the UNet works at: halve while the size stays even and at
    least ``lowest`` (32 -> 16 -> 8 is three levels with lowest 8)."""
    levels, size = 1, resolution
    while size % 2 == 0 and size // 2 >= lowest:
        levels, size = levels + 1, size // 2
    return levels


class UNet(nn.Module):
    """eps_theta(x_t, t). Level i has ``width * min(2**i, 2)`` channels and one residual
    block on the way down and two on the way up (one per skip), as a scaled-down DDPM."""

    def __init__(self, channels: int, width: int, levels: int) -> None:
        super().__init__()
        self.width, self.levels = width, levels
        t_dim = 4 * width
        self.time_mlp = nn.Sequential(nn.Linear(width, t_dim), nn.SiLU(), nn.Linear(t_dim, t_dim))
        widths = [width * min(2**i, 2) for i in range(levels)]
        self.stem = nn.Conv2d(channels, width, 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = width
        for i, w in enumerate(widths):
            self.down.append(ResBlock(c, w, t_dim))
            c = w
            if i < levels - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid1 = ResBlock(c, c, t_dim)
        self.attention = Attention(c)
        self.mid2 = ResBlock(c, c, t_dim)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(levels)):
            self.up.append(ResBlock(c + widths[i], widths[i], t_dim))
            c = widths[i]
            if i > 0:
                self.upsample.append(Upsample(c))
        self.out_norm = nn.GroupNorm(groups_for(c), c)
        self.out = nn.Conv2d(c, channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)  # starts by predicting zero noise: a stable start
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t_emb = self.time_mlp(timestep_embedding(t, self.width))
        h = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, t_emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid2(self.attention(self.mid1(h, t_emb)), t_emb)
        for i, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), t_emb)
            if i < len(self.upsample):
                h = self.upsample[i](h)
        return self.out(F.silu(self.out_norm(h)))
