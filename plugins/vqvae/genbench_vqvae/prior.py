"""A small PixelCNN (van den Oord et al. 2016) over the grid of codes: masked
convolutions (mask A first, then B) so position i sees only the positions before it in
raster order, and a K-way softmax per position."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedConv2d(nn.Conv2d):
    def __init__(self, c_in: int, c_out: int, kernel: int, mask_type: str) -> None:
        super().__init__(c_in, c_out, kernel, padding=kernel // 2)
        mask = torch.ones_like(self.weight)
        centre = kernel // 2
        mask[:, :, centre, centre + (mask_type == "B"):] = 0
        mask[:, :, centre + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCnnPrior(nn.Module):
    def __init__(self, codes: int, width: int = 64, layers: int = 4) -> None:
        super().__init__()
        self.codes = codes
        self.embed = nn.Embedding(codes, width)
        self.first = MaskedConv2d(width, width, 5, "A")
        self.blocks = nn.ModuleList(MaskedConv2d(width, width, 3, "B") for _ in range(layers))
        self.out = nn.Conv2d(width, codes, 1)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, H, W) codes -> (N, K, H, W) logits of each position given those before it."""
        h = F.relu(self.first(self.embed(codes).permute(0, 3, 1, 2)))
        for block in self.blocks:
            h = h + F.relu(block(h))
        return self.out(h)

    def nll(self, codes: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per code (nats)."""
        return F.cross_entropy(self(codes), codes)

    @torch.no_grad()
    def sample(self, uniforms: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Codes in raster order, each drawn by inverting the CDF at the given uniform:
        ``uniforms`` is (N, height * width), so a sample depends on its own draws only."""
        n = uniforms.shape[0]
        codes = torch.zeros(n, height, width, dtype=torch.long, device=uniforms.device)
        for pos in range(height * width):
            i, j = divmod(pos, width)
            probs = torch.softmax(self(codes)[:, :, i, j].double(), dim=1)
            cdf = probs.cumsum(1)
            u = uniforms[:, pos:pos + 1].double() * cdf[:, -1:]
            codes[:, i, j] = torch.searchsorted(cdf, u).squeeze(1).clamp_(max=self.codes - 1)
        return codes
