"""LDM's first stage, small: a KL-regularized convolutional autoencoder that compresses
by 4x per side into 4 latent channels (Rombach et al. 2022, "KL-f4"). Its decoder's
norm -> SiLU -> upsample steps run on the fused ``bias_act_upsample``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from genbench_ddpm.unet import groups_for
from torch import nn

from harness import ops

LATENT_CHANNELS = 4
FACTOR = 4  # downsampling per side


class Encoder(nn.Module):
    """image -> (mean, log-variance) of a diagonal Gaussian over latents (4, H/4, W/4)."""

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.GroupNorm(groups_for(width), width), nn.SiLU(),
            nn.Conv2d(width, width, 4, stride=2, padding=1), nn.GroupNorm(groups_for(width), width), nn.SiLU(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.GroupNorm(groups_for(2 * width), 2 * width),
            nn.SiLU(), nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.GroupNorm(groups_for(2 * width), 2 * width),
            nn.SiLU(), nn.Conv2d(2 * width, 2 * LATENT_CHANNELS, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.net(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30, 20)


class UpBlock(nn.Module):
    """conv -> GroupNorm (its bias left to the fused op) -> bias + SiLU + 2x upsample."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm = nn.GroupNorm(groups_for(c_out), c_out, affine=False)
        self.scale = nn.Parameter(torch.ones(c_out))
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.conv(x)) * self.scale[:, None, None]
        return ops.bias_act_upsample(h, self.bias, act="silu", scale=2)


class Decoder(nn.Module):
    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(LATENT_CHANNELS, 2 * width, 3, padding=1), nn.GroupNorm(groups_for(2 * width), 2 * width),
            nn.SiLU(), UpBlock(2 * width, 2 * width), UpBlock(2 * width, width),
            nn.Conv2d(width, width, 3, padding=1), nn.GroupNorm(groups_for(width), width), nn.SiLU(),
            nn.Conv2d(width, channels, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # linear output; the plugin clamps samples to [-1, 1]


class KlAutoencoder(nn.Module):
    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.encoder = Encoder(channels, width)
        self.decoder = Decoder(channels, width)

    def loss(self, x: torch.Tensor, kl_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
        """Reconstruction (L1 + MSE) + kl_weight * KL(q(z|x) || N(0, I)) per latent element."""
        mean, logvar = self.encoder(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        recon = self.decoder(z)
        rec = F.l1_loss(recon, x) + F.mse_loss(recon, x)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
        loss = rec + kl_weight * kl
        return loss, {"loss": loss.item(), "ae_recon": rec.item(), "ae_kl": kl.item()}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean: the latent the diffusion model learns, as in LDM's encode().mode()."""
        return self.encoder(x)[0]
