"""Vector quantization with an EMA codebook (van den Oord et al. 2017, appendix; the
K-means-style update of VQ-VAE-2): nearest-code lookup, straight-through gradients,
a commitment loss, and restart of dead codes from the batch's encoder outputs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Quantized:
    z_q: torch.Tensor  # straight-through: the codes' vectors forward, identity backward
    codes: torch.Tensor  # (N, H, W) int64
    commitment: torch.Tensor  # ||z_e - sg(z_q)||², the encoder's pull towards its codes
    perplexity: float  # exp(entropy of this batch's code usage): codes effectively used
    usage: float  # fraction of the K codes used in this batch


class EmaQuantizer(nn.Module):
    def __init__(self, codes: int, dim: int, decay: float = 0.99, eps: float = 1e-5,
                 dead_below: float = 1.0) -> None:
        super().__init__()
        self.k, self.decay, self.eps, self.dead_below = codes, decay, eps, dead_below
        embed = torch.randn(codes, dim)
        self.register_buffer("embed", embed)
        self.register_buffer("embed_sum", embed.clone())
        # Starting at zero makes every code "dead" at the first step: the codebook is
        # then initialized from the first batch's encoder outputs.
        self.register_buffer("cluster_size", torch.zeros(codes))

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, H, W) codes -> (N, D, H, W) vectors."""
        return self.embed[codes].permute(0, 3, 1, 2)

    def forward(self, z_e: torch.Tensor, update: bool = False) -> Quantized:
        """Quantizes ``z_e``; ``update`` moves the codebook towards it (training steps
        only, so that validation, evaluation and the prior stage never change it)."""
        n, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embed.t() + self.embed.pow(2).sum(1)
        codes = dist.argmin(1)
        counts = torch.bincount(codes, minlength=self.k).to(flat.dtype)
        if update:
            self._update(flat.detach(), codes, counts)
        z_q = self.lookup(codes.view(n, h, w))
        probs = counts / counts.sum()
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum()).item()
        return Quantized(z_e + (z_q - z_e).detach(), codes.view(n, h, w), F.mse_loss(z_e, z_q.detach()),
                         perplexity, (counts > 0).float().mean().item())

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, codes: torch.Tensor, counts: torch.Tensor) -> None:
        sums = torch.zeros_like(self.embed_sum).index_add_(0, codes, flat)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.k * self.eps) * total  # Laplace
        self.embed.copy_(self.embed_sum / smoothed.unsqueeze(1))
        dead = self.cluster_size < self.dead_below
        if dead.any():  # restart dead codes at random encoder outputs of this batch
            pick = torch.randint(flat.shape[0], (int(dead.sum()),), device=flat.device)
            self.embed[dead] = flat[pick]
            self.embed_sum[dead] = flat[pick]
            self.cluster_size[dead] = 1.0
