"""DDPM (Ho et al. 2020) on the fused noise-scheduling ops: a small UNet predicts the
noise (L_simple), T = 1000 with the linear schedule by default (cosine is an option),
``q_sample`` with t drawn on the device, an EMA of the weights for sampling, and two
samplers: DDPM with all T steps, or DDIM with ``ddim_steps`` steps (eta configurable).
The sampler is a sampling-only setting, so a suite can evaluate one trained model under
both (``samplers`` in a suite entry)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from harness import Batch, Generator, SampleRNG, hookimpl, ops

from .diffusion import Diffusion, Ema, check_sampler, describe_sampler
from .unet import UNet, levels_for

SAMPLING_KEYS = ("sampler", "ddim_steps", "eta")


class Ddpm(Generator):
    """Pixel-space DDPM; samples come from the EMA weights."""

    name = "ddpm"
    sampling_keys: ClassVar[tuple[str, ...]] = SAMPLING_KEYS
    default_config: ClassVar[dict[str, Any]] = {
        "width": 64, "levels": "auto", "T": 1000, "schedule": "linear", "lr": 2e-4, "ema_decay": 0.999,
        "batch_size": 64, "sampler": "ddim", "ddim_steps": 50, "eta": 0.0,
    }
    config_help: ClassVar[dict[str, str]] = {
        "width": "channels of the UNet's first level (deeper levels have twice as many)",
        "levels": "resolutions the UNet works at; auto: halve down to 8x8",
        "T": "diffusion steps of the forward process",
        "schedule": "beta schedule: linear (DDPM), cosine or scaled-linear",
        "lr": "Adam learning rate",
        "ema_decay": "decay of the weights' exponential moving average, which samples",
        "batch_size": "training batch size",
        "sampler": "ddpm (T ancestral steps) or ddim",
        "ddim_steps": "steps of the DDIM sampler",
        "eta": "DDIM's eta: 0 is deterministic, 1 is as noisy as DDPM",
    }

    def __init__(self, dataset, device, config) -> None:
        super().__init__(dataset, device, config)
        c = self.config
        if c["levels"] == "auto":  # the depth follows the resolution: down to 8x8 at most
            c["levels"] = levels_for(dataset.resolution, lowest=8)
        self.shape = (dataset.channels, dataset.resolution, dataset.resolution)
        self.unet = UNet(dataset.channels, c["width"], c["levels"]).to(device)
        self.ema = Ema(self.unet, c["ema_decay"])
        self.schedule = ops.NoiseSchedule(c["schedule"], c["T"])
        check_sampler(c, c["T"])
        self.diffusion = Diffusion(self.unet, self.schedule, clip_x0=True)
        self.opt = torch.optim.Adam(self.unet.parameters(), lr=c["lr"])

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"unet": self.unet}  # the EMA copy is not trained

    def train_step(self, batch: Batch) -> dict[str, float]:
        loss = self.diffusion.loss(batch.images)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.ema.update(self.unet)
        return {"loss": loss.item()}

    @torch.no_grad()
    def validation_loss(self, batch: Batch) -> float | None:
        return self.diffusion.validation_loss(batch.images)

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        c = self.config
        return self.diffusion.sample(self.ema.model, self.shape, rng, c["sampler"], c["ddim_steps"], c["eta"])

    def setting(self) -> str:
        check_sampler(self.config, self.config["T"])
        return describe_sampler(self.config, self.config["T"])

    def state_dict(self) -> dict[str, Any]:
        return {"unet": self.unet.state_dict(), "ema": self.ema.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.unet.load_state_dict(state["unet"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [Ddpm]
