"""Latent diffusion (Rombach et al. 2022), small. Two declared stages share one budget:

1. the first ``ae_share`` of the budget (images or wall clock, whichever is further
   along) trains a KL autoencoder (4x per side, 4 latent channels);
2. the rest trains a UNet diffusion model on its latents, scaled by their measured
   standard deviation (LDM's scale factor), with the scaled-linear schedule and the
   fused ``q_sample``, ``ddpm_step`` and ``ddim_step``.

Samples are decoded back to image space for the metrics. The leaderboard's ``setting``
column states the sampler and both stages' shares; ``ae_ssim`` is the autoencoder's
reconstruction SSIM on the test images, next to the sample metrics."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from genbench_ddpm.diffusion import Diffusion, Ema, check_sampler, describe_sampler
from genbench_ddpm.plugin import SAMPLING_KEYS
from genbench_ddpm.unet import UNet, levels_for

from harness import Batch, Generator, Requires, SampleRNG, hookimpl, ops
from harness.metrics.ssim import ssim

from .autoencoder import FACTOR, LATENT_CHANNELS, KlAutoencoder

SCALE_IMAGES = 512  # training images whose latents set the scale factor
EVAL_IMAGES = 512  # test images for the autoencoder's reconstruction SSIM


class Ldm(Generator):
    """KL autoencoder + latent DDPM/DDIM; samples come from the EMA weights."""

    name = "ldm"
    requires = Requires(resolution_multiple_of=FACTOR)  # the autoencoder's downsampling
    sampling_keys: ClassVar[tuple[str, ...]] = SAMPLING_KEYS
    default_config: ClassVar[dict[str, Any]] = {
        "ae_width": 32, "ae_lr": 1e-3, "kl_weight": 1e-6, "ae_share": 0.3,
        "width": 64, "levels": "auto", "T": 1000, "schedule": "scaled-linear", "lr": 2e-4, "ema_decay": 0.999,
        "batch_size": 64, "sampler": "ddim", "ddim_steps": 50, "eta": 0.0,
    }
    config_help: ClassVar[dict[str, str]] = {
        "ae_width": "channels of the KL autoencoder",
        "ae_lr": "Adam learning rate of the autoencoder",
        "kl_weight": "weight of the autoencoder's KL term",
        "ae_share": "share of the budget that trains the autoencoder; the rest trains the diffusion model",
        "width": "channels of the latent UNet's first level",
        "levels": "resolutions the latent UNet works at; auto: halve down to 4x4",
        "T": "diffusion steps of the forward process",
        "schedule": "beta schedule: scaled-linear (LDM), linear or cosine",
        "lr": "Adam learning rate of the diffusion model",
        "ema_decay": "decay of the diffusion weights' exponential moving average, which samples",
        "batch_size": "training batch size",
        "sampler": "ddpm (T ancestral steps) or ddim",
        "ddim_steps": "steps of the DDIM sampler",
        "eta": "DDIM's eta: 0 is deterministic, 1 is as noisy as DDPM",
    }

    def __init__(self, dataset, device, config) -> None:
        super().__init__(dataset, device, config)
        c = self.config
        if dataset.resolution % FACTOR:
            raise ValueError(f"ldm needs a resolution divisible by {FACTOR}, got {dataset.resolution}")
        if not 0 < c["ae_share"] < 1:
            raise ValueError(f"ldm: ae_share must lie strictly between 0 and 1, got {c['ae_share']}")
        grid = dataset.resolution // FACTOR
        if c["levels"] == "auto":  # the latent grid is small: go down to 4x4
            c["levels"] = levels_for(grid, lowest=4)
        self.latent_shape = (LATENT_CHANNELS, grid, grid)
        self.autoencoder = KlAutoencoder(dataset.channels, c["ae_width"]).to(device)
        self.unet = UNet(LATENT_CHANNELS, c["width"], c["levels"]).to(device)
        self.ema = Ema(self.unet, c["ema_decay"])
        self.schedule = ops.NoiseSchedule(c["schedule"], c["T"])
        check_sampler(c, c["T"])
        # Scaled latents have unit variance, not a bounded range: no clipping of x0.
        self.diffusion = Diffusion(self.unet, self.schedule, clip_x0=False)
        self.opt_ae = torch.optim.Adam(self.autoencoder.parameters(), lr=c["ae_lr"])
        self.opt = torch.optim.Adam(self.unet.parameters(), lr=c["lr"])
        self.latent_scale: float | None = None

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"autoencoder": self.autoencoder, "unet": self.unet}

    @property
    def in_diffusion_stage(self) -> bool:
        return self.budget_spent >= self.config["ae_share"]

    @torch.no_grad()
    def _latents(self, images: torch.Tensor) -> torch.Tensor:
        if self.latent_scale is None:  # measured once, when the autoencoder is final
            self.autoencoder.eval()
            n = min(SCALE_IMAGES, len(self.dataset.train))
            x = self.dataset.train.get(torch.arange(n)).images.to(self.device)
            self.latent_scale = 1.0 / self.autoencoder.encode(x).std().item()
        return self.autoencoder.encode(images) * self.latent_scale

    def train_step(self, batch: Batch) -> dict[str, float]:
        if not self.in_diffusion_stage:
            loss, logs = self.autoencoder.loss(batch.images, self.config["kl_weight"])
            self.opt_ae.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_ae.step()
            return logs | {"stage": 0.0}
        loss = self.diffusion.loss(self._latents(batch.images))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.ema.update(self.unet)
        return {"loss": loss.item(), "diffusion": loss.item(), "stage": 1.0}

    @torch.no_grad()
    def validation_loss(self, batch: Batch) -> float | None:
        if not self.in_diffusion_stage:  # early stopping watches the diffusion stage only
            return None
        return self.diffusion.validation_loss(self._latents(batch.images))

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        c = self.config
        z = self.diffusion.sample(self.ema.model, self.latent_shape, rng, c["sampler"], c["ddim_steps"], c["eta"])
        scale = self.latent_scale or 1.0  # unset only if the budget ended inside stage 1
        return self.autoencoder.decoder(z / scale).clamp(-1, 1)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decoder(self.autoencoder.encode(images.to(self.device))).clamp(-1, 1)

    def setting(self) -> str:
        check_sampler(self.config, self.config["T"])
        share = self.config["ae_share"]
        return (f"{describe_sampler(self.config, self.config['T'])}; budget: autoencoder {share:.0%}, "
                f"diffusion {1 - share:.0%}")

    @torch.no_grad()
    def extra_metrics(self) -> dict[str, Any]:
        """The autoencoder's reconstruction SSIM on the first test images."""
        self.autoencoder.eval()
        x = self.dataset.test.get(torch.arange(min(EVAL_IMAGES, len(self.dataset.test)))).images.to(self.device)
        return {"ae_ssim": ssim(self.reconstruct(x), x, data_range=2.0)}

    def state_dict(self) -> dict[str, Any]:
        return {"autoencoder": self.autoencoder.state_dict(), "unet": self.unet.state_dict(),
                "ema": self.ema.state_dict(), "opt_ae": self.opt_ae.state_dict(), "opt": self.opt.state_dict(),
                "latent_scale": self.latent_scale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("autoencoder", "unet", "ema", "opt_ae", "opt"):
            getattr(self, name).load_state_dict(state[name])
        self.latent_scale = state["latent_scale"]


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [Ldm]
