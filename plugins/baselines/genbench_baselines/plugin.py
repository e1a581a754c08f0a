"""Baseline rows for every leaderboard. They take no training budget:

- ``gaussian``: each pixel drawn independently from a normal with the training data's
  per-pixel mean and standard deviation (what a model knowing only pixel statistics gets);
- ``noise``: uniform noise in [-1, 1] (the ceiling of every distance);
- ``train-copy``: held-out real images (the validation split), the floor that FD and KID
  can reach at this N against the test split.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import Generator, SampleRNG, hookimpl

STAT_IMAGES = 4096  # training images the Gaussian's statistics come from (seeded subset)
STAT_SEED = 0x6A55


class _Baseline(Generator):
    trains = False
    ssim_kind = "nearest-real"

    def train_step(self, batch):
        raise RuntimeError(f"{self.name} takes no training budget")

    def _shape(self) -> tuple[int, int, int]:
        return self.dataset.channels, self.dataset.resolution, self.dataset.resolution

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class GaussianBaseline(_Baseline):
    """Independent per-pixel normals with the training data's mean and std."""

    name = "gaussian"

    def __init__(self, dataset, device, config) -> None:
        super().__init__(dataset, device, config)
        n = len(dataset.train)
        pick = torch.randperm(n, generator=torch.Generator().manual_seed(STAT_SEED))[:STAT_IMAGES]
        images = dataset.train.get(pick.sort().values).images.double()
        self.mean = images.mean(dim=0).float().to(device)
        self.std = images.std(dim=0).float().to(device)

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        return (self.mean + self.std * rng.randn(*self._shape())).clamp(-1, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.cpu(), "std": self.std.cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean, self.std = state["mean"].to(self.device), state["std"].to(self.device)


class NoiseBaseline(_Baseline):
    """Uniform noise in [-1, 1]."""

    name = "noise"

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        return rng.rand(*self._shape()) * 2 - 1


class TrainCopyBaseline(_Baseline):
    """Held-out real images: sample i is the i-th image of a fixed shuffle of the
    validation split (wrapping around when N exceeds it), so it depends on i alone."""

    name = "train-copy"

    def sample(self, n: int, rng: SampleRNG, condition=None) -> torch.Tensor:
        size = len(self.dataset.val)
        order = torch.randperm(size, generator=torch.Generator().manual_seed(STAT_SEED))
        index = order[torch.arange(rng.offset, rng.offset + n) % size]
        return self.dataset.val.get(index).images.to(self.device)


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [GaussianBaseline, NoiseBaseline, TrainCopyBaseline]
