"""VQ-VAE (van den Oord et al. 2017): a conv encoder, a codebook of K = 512 codes
(configurable) with EMA updates (decay 0.99), commitment cost 0.25, straight-through
gradients and restart of dead codes, and a conv decoder whose act -> upsample steps run
on the fused ``bias_act_upsample``.

Sampling needs a prior over the code grid: a small PixelCNN, trained as a declared second
stage within the same budget. The first ``ae_share`` of the budget (images or wall clock,
whichever runs out first) trains the autoencoder; the rest trains the prior on the
frozen encoder's codes. ``ae_share`` is in the run's options; the ``stage`` log in
stats.jsonl shows where the switch happened.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from harness import Batch, Generator, Requires, SampleRNG, hookimpl, ops

from .prior import PixelCnnPrior
from .quantizer import EmaQuantizer

EVAL_IMAGES = 512


class Encoder(nn.Sequential):
    def __init__(self, channels: int, hidden: int, dim: int) -> None:
        super().__init__(nn.Conv2d(channels, hidden, 4, 2, 1), nn.ReLU(),
                         nn.Conv2d(hidden, hidden, 4, 2, 1), nn.ReLU(),
                         nn.Conv2d(hidden, hidden, 3, 1, 1), nn.ReLU(),
                         nn.Conv2d(hidden, dim, 1))


class Decoder(nn.Module):
    def __init__(self, channels: int, hidden: int, dim: int) -> None:
        super().__init__()
        # The biases of the convs that feed an upsampling: the fused op adds them.
        self.conv0 = nn.Conv2d(dim, hidden, 3, padding=1, bias=False)
        self.bias0 = nn.Parameter(torch.zeros(hidden))
        self.conv1 = nn.Conv2d(hidden, hidden // 2, 3, padding=1, bias=False)
        self.bias1 = nn.Parameter(torch.zeros(hidden // 2))
        self.to_image = nn.Conv2d(hidden // 2, channels, 3, padding=1)

    def forward(self, z_q: torch.Tensor) -> torch.Tensor:
        h = ops.bias_act_upsample(self.conv0(z_q), self.bias0, act="relu", scale=2)
        h = ops.bias_act_upsample(self.conv1(h), self.bias1, act="relu", scale=2)
        # Linear output: a tanh here saturates at the background's -1 early on and its
        # vanishing gradient stalls training; samples are clamped to [-1, 1] instead.
        return self.to_image(h)


class VqVae(Generator):
    """VQ-VAE + PixelCNN prior; SSIM is paired reconstruction, FD and KID use prior samples."""

    name = "vqvae"
    requires = Requires(resolution_multiple_of=4)  # two stride-2 convolutions
    ssim_kind = "reconstruction"
    default_config: ClassVar[dict[str, Any]] = {
        "codes": 512, "code_dim": 32, "hidden": 64, "decay": 0.99, "commitment": 0.25,
        "lr": 1e-3, "prior_lr": 1e-3, "prior_width": 64, "ae_share": 0.75, "batch_size": 64,
    }
    config_help: ClassVar[dict[str, str]] = {
        "codes": "codebook size K",
        "code_dim": "dimensions of each code",
        "hidden": "channels of the encoder and decoder",
        "decay": "decay of the codebook's EMA updates",
        "commitment": "weight of the commitment loss (beta)",
        "lr": "Adam learning rate of the autoencoder",
        "prior_lr": "Adam learning rate of the PixelCNN prior",
        "prior_width": "channels of the PixelCNN prior",
        "ae_share": "share of the budget that trains the autoencoder; the rest trains the prior",
        "batch_size": "training batch size",
    }

    def __init__(self, dataset, device, config) -> None:
        super().__init__(dataset, device, config)
        c, d = self.config, dataset
        if d.resolution % 4:
            raise ValueError(f"vqvae needs a resolution divisible by 4, got {d.resolution}")
        if not 0 < c["ae_share"] < 1:
            raise ValueError(f"vqvae: ae_share must lie strictly between 0 and 1, got {c['ae_share']}")
        self.grid = d.resolution // 4
        self.encoder = Encoder(d.channels, c["hidden"], c["code_dim"]).to(device)
        self.quantizer = EmaQuantizer(c["codes"], c["code_dim"], c["decay"]).to(device)
        self.decoder = Decoder(d.channels, c["hidden"], c["code_dim"]).to(device)
        self.prior = PixelCnnPrior(c["codes"], c["prior_width"]).to(device)
        self.opt = torch.optim.Adam([*self.encoder.parameters(), *self.decoder.parameters()], lr=c["lr"])
        self.opt_prior = torch.optim.Adam(self.prior.parameters(), lr=c["prior_lr"])

    @property
    def in_prior_stage(self) -> bool:
        return self.budget_spent >= self.config["ae_share"]

    def train_step(self, batch: Batch) -> dict[str, float]:
        if self.in_prior_stage:
            return self._prior_step(batch.images)
        q = self.quantizer(self.encoder(batch.images), update=True)
        recon = F.mse_loss(self.decoder(q.z_q), batch.images)
        loss = recon + self.config["commitment"] * q.commitment
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "recon": recon.item(), "commitment": q.commitment.item(),
                "perplexity": q.perplexity, "usage": q.usage, "stage": 0.0}

    def _prior_step(self, images: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():  # the codebook is frozen once the prior trains
            codes = self.quantizer(self.encoder(images)).codes
        nll = self.prior.nll(codes)
        self.opt_prior.zero_grad(set_to_none=True)
        nll.backward()
        self.opt_prior.step()
        return {"loss": nll.item(), "prior_nll": nll.item(), "stage": 1.0}

    @torch.no_grad()
    def validation_loss(self, batch: Batch) -> float | None:
        if self.in_prior_stage:  # early stopping watches the autoencoder only
            return None
        return F.mse_loss(self.reconstruct(batch.images), batch.images).item()

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        codes = self.prior.sample(rng.rand(self.grid * self.grid), self.grid, self.grid)
        return self.decoder(self.quantizer.lookup(codes)).clamp(-1, 1)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.quantizer(self.encoder(images.to(self.device))).z_q).clamp(-1, 1)

    @torch.no_grad()
    def extra_metrics(self) -> dict[str, Any]:
        """Codebook perplexity on the first test images, and the prior's NLL of their
        codes in bits per code."""
        x = self.dataset.test.get(torch.arange(min(EVAL_IMAGES, len(self.dataset.test)))).images.to(self.device)
        q = self.quantizer(self.encoder(x))
        return {"codebook_perplexity": q.perplexity,
                "prior_bits_per_code": (self.prior.nll(q.codes).item() / math.log(2), "min")}

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).state_dict()
                for name in ("encoder", "quantizer", "decoder", "prior", "opt", "opt_prior")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            getattr(self, name).load_state_dict(value)


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [VqVae]
