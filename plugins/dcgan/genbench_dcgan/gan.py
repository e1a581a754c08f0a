"""The adversarial training both GANs share: a generator network from a latent vector,
the conv discriminator, the non-saturating BCE losses (in logits form) and Adam with
the DCGAN-on-MNIST paper's settings (lr 2e-4, betas (0.5, 0.999), batch 64)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from harness import Batch, Generator, SampleRNG

# Every resolution up_steps accepts: 4 to 8 pixels doubled at most four times.
RESOLUTIONS = tuple(sorted({start * 2**k for start in range(4, 9) for k in range(5)}))


def up_steps(resolution: int) -> int:
    """Doublings from a start size of 4 to 8 pixels up to ``resolution`` (28 -> 2 from 7,
    32 -> 2 from 8, 64 -> 3 from 8, 16 -> 1 from 8)."""
    for k in range(4, -1, -1):
        start = resolution / 2**k
        if start.is_integer() and 4 <= start <= 8:
            return k
    raise ValueError(f"resolution {resolution} is not 4 to 8 times a power of two")


class Discriminator(nn.Module):
    """Strided convs with LeakyReLU(0.2) (batch norm after the first), down to the start
    size, then one conv over it to a logit: sigmoid(logit) is the probability of real."""

    def __init__(self, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        k = up_steps(resolution)
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(k):
            c_out = width * 2**i
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        start = resolution // 2**k
        layers.append(nn.Conv2d(c_in, 1, start))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_dcgan_weights(module: nn.Module) -> None:
    """Radford et al.: conv weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class GanGenerator(Generator):
    """A GAN as a genbench generator. Subclasses build ``self.g`` (latent -> image in
    [-1, 1]) in :meth:`build_generator`."""

    ssim_kind = "nearest-real"
    default_config: ClassVar[dict[str, Any]] = {
        "latent": 100, "width": 64, "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 64,
    }
    config_help: ClassVar[dict[str, str]] = {
        "latent": "dimensions of the noise vector z",
        "width": "channels of the discriminator's first layer and the generator's last hidden one",
        "lr": "Adam learning rate of both networks",
        "beta1": "Adam's beta1 (DCGAN: 0.5)",
        "beta2": "Adam's beta2",
        "batch_size": "training batch size",
    }

    def __init__(self, dataset, device, config) -> None:
        super().__init__(dataset, device, config)
        c = self.config
        self.g = self.build_generator().to(device)
        self.d = Discriminator(dataset.channels, dataset.resolution, c["width"]).to(device)
        init_dcgan_weights(self.d)
        betas = (c["beta1"], c["beta2"])
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=c["lr"], betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=c["lr"], betas=betas)

    @abstractmethod
    def build_generator(self) -> nn.Module:
        """The network from a (N, latent) batch to (N, C, H, W) images in [-1, 1]."""

    def train_step(self, batch: Batch) -> dict[str, float]:
        real = batch.images
        n = real.shape[0]
        z = torch.randn(n, self.config["latent"], device=self.device)
        fake = self.g(z)
        ones, zeros = torch.ones(n, device=self.device), torch.zeros(n, device=self.device)
        d_real, d_fake = self.d(real), self.d(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # The non-saturating generator loss: -log D(G(z)).
        loss_g = F.binary_cross_entropy_with_logits(self.d(fake), ones)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return {"loss_g": loss_g.item(), "loss_d": loss_d.item(),
                "d_real": torch.sigmoid(d_real).mean().item(), "d_fake": torch.sigmoid(d_fake).mean().item()}

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        return self.g(rng.randn(self.config["latent"]))

    def state_dict(self) -> dict[str, Any]:
        return {"g": self.g.state_dict(), "d": self.d.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])

    def parameter_count(self) -> int:
        """The generator network's parameters, what produces the samples (as the
        Fashion-MNIST upsampling-GAN paper counts them); the discriminator only serves
        training."""
        return sum(p.numel() for p in self.g.parameters() if p.requires_grad)

