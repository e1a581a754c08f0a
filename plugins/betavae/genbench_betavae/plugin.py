"""beta-VAE (Higgins et al. 2017): a conv encoder to (mu, log var), the
reparameterization trick, a conv decoder whose act -> upsample steps run on the fused
``bias_act_upsample``, and the loss reconstruction + beta * KL (beta = 1: the plain VAE
of Kingma & Welling).

The decoder's output is the mean of a Gaussian likelihood with one learned scale, so
the reconstruction term is a real negative log-likelihood and -ELBO is a bound on it:
reported in bits/dim on the 8-bit scale (the density of [-1, 1] data plus
log2(127.5) per dimension, the width of one 8-bit level, without dequantization noise).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import nn

from harness import Batch, Generator, Requires, SampleRNG, hookimpl, ops

EVAL_IMAGES = 512
LOG_SCALE_MIN = math.log(1 / 255)


class Encoder(nn.Module):
    def __init__(self, channels: int, resolution: int, latent: int, width: int) -> None:
        super().__init__()
        s = resolution // 4
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * width * s * s, 256), nn.ReLU(), nn.Linear(256, 2 * latent))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar


class Decoder(nn.Module):
    def __init__(self, channels: int, resolution: int, latent: int, width: int) -> None:
        super().__init__()
        self.start, self.width = resolution // 4, 2 * width
        self.dense = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(),
                                   nn.Linear(256, self.width * self.start**2, bias=False))
        # Per-channel biases of the layers that feed an upsampling: the fused op adds them.
        self.bias0 = nn.Parameter(torch.zeros(self.width))
        self.conv1 = nn.Conv2d(self.width, width, 3, padding=1, bias=False)
        self.bias1 = nn.Parameter(torch.zeros(width))
        self.to_image = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).view(-1, self.width, self.start, self.start)
        h = self.conv1(ops.bias_act_upsample(h, self.bias0, act="relu", scale=2))
        h = ops.bias_act_upsample(h, self.bias1, act="relu", scale=2)
        return torch.tanh(self.to_image(h))


class BetaVae(Generator):
    """beta-VAE; SSIM is paired reconstruction, FD and KID use samples from the prior."""

    name = "betavae"
    requires = Requires(resolution_multiple_of=4)  # two stride-2 convolutions
    ssim_kind = "reconstruction"
    default_config: ClassVar[dict[str, Any]] = {"beta": 1.0, "latent": 32, "width": 32, "lr": 1e-3,
                                                "batch_size": 64}
    config_help: ClassVar[dict[str, str]] = {
        "beta": "weight of the KL term (1 is the plain VAE; above 1 disentangles, at a cost in detail)",
        "latent": "dimensions of the latent code",
        "width": "channels of the first convolution (the second has twice as many)",
        "lr": "Adam learning rate",
        "batch_size": "training batch size",
    }

    def __init__(self, dataset, device, config) -> None:
        super().__init__(dataset, device, config)
        if dataset.resolution % 4:
            raise ValueError(f"betavae needs a resolution divisible by 4, got {dataset.resolution}")
        c, d = self.config, dataset
        self.encoder = Encoder(d.channels, d.resolution, c["latent"], c["width"]).to(device)
        self.decoder = Decoder(d.channels, d.resolution, c["latent"], c["width"]).to(device)
        self.log_scale = nn.Parameter(torch.zeros((), device=device))
        params = [*self.encoder.parameters(), *self.decoder.parameters(), self.log_scale]
        self.opt = torch.optim.Adam(params, lr=c["lr"])
        self.dims = d.channels * d.resolution**2

    def terms(self, x: torch.Tensor, noise: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-image reconstruction NLL and KL (nats), for the given reparameterization noise."""
        mu, logvar = self.encoder(x)
        z = mu + torch.exp(0.5 * logvar) * noise
        mean = self.decoder(z)
        log_scale = self.log_scale.clamp(min=LOG_SCALE_MIN)
        nll = (0.5 * ((x - mean) / log_scale.exp()) ** 2 + log_scale + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
        return {"recon": nll, "kl": kl}

    def train_step(self, batch: Batch) -> dict[str, float]:
        x = batch.images
        t = self.terms(x, torch.randn(x.shape[0], self.config["latent"], device=self.device))
        loss = (t["recon"] + self.config["beta"] * t["kl"]).mean() / self.dims
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        recon, kl = t["recon"].mean().item(), t["kl"].mean().item()
        return {"loss": loss.item(), "recon": recon, "kl": kl, "elbo": -(recon + kl)}

    @torch.no_grad()
    def validation_loss(self, batch: Batch) -> float:
        g = torch.Generator().manual_seed(0)
        t = self.terms(batch.images, torch.randn(batch.images.shape[0], self.config["latent"], generator=g)
                       .to(self.device))
        return ((t["recon"] + t["kl"]).mean() / self.dims).item()

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        return self.decoder(rng.randn(self.config["latent"]))

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(images.to(self.device))[0])

    @torch.no_grad()
    def extra_metrics(self) -> dict[str, Any]:
        """-ELBO of the first test images in bits/dim (one seeded z per image)."""
        x = self.dataset.test.get(torch.arange(min(EVAL_IMAGES, len(self.dataset.test)))).images.to(self.device)
        noise = torch.randn(x.shape[0], self.config["latent"], generator=torch.Generator().manual_seed(0))
        t = self.terms(x, noise.to(self.device))
        nats = (t["recon"] + t["kl"]).mean().item() + self.dims * math.log(127.5)
        return {"neg_elbo_bits_per_dim": (nats / (self.dims * math.log(2)), "min")}

    def state_dict(self) -> dict[str, Any]:
        return {"encoder": self.encoder.state_dict(), "decoder": self.decoder.state_dict(),
                "log_scale": self.log_scale.detach().clone(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.decoder.load_state_dict(state["decoder"])
        with torch.no_grad():
            self.log_scale.copy_(state["log_scale"])
        self.opt.load_state_dict(state["opt"])


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [BetaVae]
