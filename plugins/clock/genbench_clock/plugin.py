"""The genbench hook implementations of the clock plugin."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from harness import Batch, Generator, Requires, SampleRNG, hookimpl

from .model import ClockDecoder


class ClockGenerator(Generator):
    """The CNN clock generator: draws an analog clock from a time.

    Trained with Adam on the MSE against the true rendering; the host tracks the
    validation loss and stops early on it. SSIM is paired: the drawn clock against the
    true rendering of the same held-out time.
    """

    name = "clock"
    ssim_kind = "paired"
    conditional = True
    # The decoder doubles an 8x8 start; the conditions are the clocks' six time features.
    requires = Requires(resolutions=tuple(8 * 2**k for k in range(7)), condition_dim=6)
    default_config: ClassVar[dict[str, Any]] = {"lr": 2e-3, "batch_size": 32, "hidden": 256, "width": 32}
    config_help: ClassVar[dict[str, str]] = {
        "lr": "Adam learning rate",
        "batch_size": "training batch size",
        "hidden": "units of the fully connected layer the time features go through",
        "width": "channels of the last upsampling block (earlier blocks have more)",
    }

    def __init__(self, dataset, device, config) -> None:
        super().__init__(dataset, device, config)
        if dataset.condition_dim != 6:
            raise ValueError(f"clock generator needs the clocks dataset (6 time features), got {dataset.name!r}")
        c = self.config
        self.net = ClockDecoder(dataset.channels, dataset.resolution, c["hidden"], c["width"]).to(device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=c["lr"])

    def train_step(self, batch: Batch) -> dict[str, float]:
        loss = F.mse_loss(self.net(batch.conditions), batch.images)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item()}

    def validation_loss(self, batch: Batch) -> float:
        return F.mse_loss(self.net(batch.conditions), batch.images).item()

    def sample(self, n: int, rng: SampleRNG, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is None or condition.shape[0] != n:
            raise ValueError("the clock generator needs a condition (time features) per sample")
        return self.net(condition.to(self.device))

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [ClockGenerator]
