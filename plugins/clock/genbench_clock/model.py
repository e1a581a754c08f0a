"""The clock CNN: sin/cos of the three hand angles -> dense -> reshape -> upsample + conv
decoder. Every act -> upsample step runs on the fused ``bias_act_upsample`` op."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from harness import ops

FEATURES = 6  # sin and cos of the hour, minute and second hand angles
START = 8  # spatial size after the dense layers


class ClockDecoder(nn.Module):
    def __init__(self, channels: int, resolution: int, hidden: int, width: int) -> None:
        super().__init__()
        ups = int(math.log2(resolution // START))
        if START * 2**ups != resolution:
            raise ValueError(f"clock generator needs a resolution of 8 x a power of two, got {resolution}")
        widths = [max(width >> i, 16) for i in range(ups + 1)]
        self.dense = nn.Sequential(nn.Linear(FEATURES, hidden), nn.LeakyReLU(0.2),
                                   nn.Linear(hidden, widths[0] * START * START, bias=False))
        self.widths = widths
        # The bias of each layer feeding an upsample lives here: the fused op adds it.
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(w)) for w in widths[:-1]])
        self.convs = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1, bias=False)
                                   for i in range(ups))
        self.out_bias = nn.Parameter(torch.zeros(widths[-1]))
        self.to_image = nn.Conv2d(widths[-1], channels, 3, padding=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.dense(features).view(-1, self.widths[0], START, START)
        for bias, conv in zip(self.biases, self.convs, strict=True):
            h = conv(ops.bias_act_upsample(h, bias, act="lrelu", alpha=0.2, scale=2, mode="nearest"))
        h = F.leaky_relu(h + self.out_bias.view(1, -1, 1, 1), 0.2)
        return torch.tanh(self.to_image(h))
