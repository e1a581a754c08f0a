"""Denoising diffusion on the fused ops: the L_simple training loss with ``q_sample``,
an EMA of the weights for sampling, and the DDPM and DDIM samplers with
``ddpm_step`` / ``ddim_step``. Shared by the ``ddpm`` and ``ldm`` plugins."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness import SampleRNG, ops

SAMPLERS = ("ddpm", "ddim")
VAL_SEED = 0x5EED  # fixed t and noise for the validation loss, so evaluations compare


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """``steps`` timesteps from T-1 down to 0, evenly spaced (DDIM's "linear" selection)."""
    if not 1 <= steps <= T:
        raise ValueError(f"DDIM needs 1 <= steps <= T = {T}, got {steps}")
    return sorted({round(i * (T - 1) / max(steps - 1, 1)) for i in range(steps)}, reverse=True)


class Ema:
    """An exponential moving average of a model's weights, with the usual warm-up
    (decay min(d, (1 + k) / (10 + k)) at update k) so a short run is not dominated by the
    initial weights."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {decay}")
        self.model = copy.deepcopy(model).requires_grad_(False).eval()
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for ema, live in zip(self.model.parameters(), model.parameters(), strict=True):
            ema.lerp_(live, 1 - d)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = state["updates"]


class Diffusion:
    """A noise schedule and an epsilon-prediction model."""

    def __init__(self, model: nn.Module, schedule: ops.NoiseSchedule, clip_x0: bool) -> None:
        self.model, self.schedule, self.clip_x0 = model, schedule, clip_x0

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """L_simple: ||eps - eps_theta(q_sample(x0, eps, t), t)||^2, t uniform on the device."""
        n, device = x0.shape[0], x0.device
        if generator is None:
            t = torch.randint(0, self.schedule.T, (n,), device=device)
            noise = torch.randn_like(x0)
        else:  # fixed draws (validation), made on the CPU generator and moved
            t = torch.randint(0, self.schedule.T, (n,), generator=generator).to(device)
            noise = torch.randn(x0.shape, generator=generator).to(device)
        x_t = ops.q_sample(x0, noise, t, self.schedule)
        return F.mse_loss(self.model(x_t, t), noise)

    def validation_loss(self, x0: torch.Tensor) -> float:
        return self.loss(x0, torch.Generator().manual_seed(VAL_SEED)).item()

    @torch.no_grad()
    def sample(self, model: nn.Module, shape: tuple[int, ...], rng: SampleRNG, sampler: str, steps: int,
               eta: float, noise: Callable[[int], torch.Tensor] | None = None) -> torch.Tensor:
        """Draws ``rng.n`` samples: x_T from ``rng``, step noise in-kernel keyed by the
        samples' global index, so a sample does not depend on its batch. ``noise(t)``,
        when given, supplies each step's noise instead (to compare backends)."""
        x = rng.randn(*shape)
        seed, n = rng.kernel_seed(), rng.n
        ts = list(range(self.schedule.T - 1, -1, -1)) if sampler == "ddpm" else ddim_timesteps(self.schedule.T, steps)
        for i, t in enumerate(ts):
            tt = torch.full((n,), t, dtype=torch.int64, device=x.device)
            z = None if noise is None else noise(t).to(x.device)
            keys = {"seed": None if z is not None else seed, "noise": z, "clip_x0": self.clip_x0,
                    "offset": rng.offset}
            if sampler == "ddpm":
                x = ops.ddpm_step(x, model(x, tt), tt, self.schedule, **keys)
            else:
                t_prev = ts[i + 1] if i + 1 < len(ts) else -1
                x = ops.ddim_step(x, model(x, tt), tt, t_prev, self.schedule, eta=eta, **keys)
        return x


def check_sampler(config: dict[str, Any], T: int) -> None:
    if config["sampler"] not in SAMPLERS:
        raise ValueError(f"unknown sampler {config['sampler']!r}; expected one of {', '.join(SAMPLERS)}")
    ddim_timesteps(T, int(config["ddim_steps"]))
    if not 0 <= config["eta"] <= 1:
        raise ValueError(f"eta must be in [0, 1], got {config['eta']}")


def describe_sampler(config: dict[str, Any], T: int) -> str:
    if config["sampler"] == "ddpm":
        return f"DDPM-{T}"
    return f"DDIM-{config['ddim_steps']}" + (f" eta={config['eta']:g}" if config["eta"] else "")
