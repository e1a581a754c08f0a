"""The upsampling GAN of the Fashion-MNIST paper: Dense(6272) + LeakyReLU, reshape to
128x7x7, then UpSampling2D + Conv2D + LeakyReLU blocks and a one-channel output conv.

The layout that reproduces that paper's 2,155,137 trainable parameters at 28x28x1, with
'same' padding:

    latent 128 -> Dense(6272) -> LeakyReLU -> reshape 128x7x7
    -> UpSampling2D -> Conv2D(128, 5x5) -> LeakyReLU -> Conv2D(128, 5x5) -> LeakyReLU
    -> UpSampling2D -> Conv2D(128, 4x4) -> LeakyReLU -> Conv2D(128, 4x4) -> LeakyReLU
    -> Conv2D(1, 4x4)                    809,088 + 2 x 409,728 + 2 x 262,272 + 2,049

Every LeakyReLU -> UpSampling2D is one fused ``bias_act_upsample`` (the bias of the
layer before it, LeakyReLU 0.2, nearest x2). The Dense layer's bias is per feature, not
per channel, so it stays in the Linear and the fused op gets no bias. The output conv
is linear, then tanh maps to [-1, 1] (the seed's Fashion-MNIST images are in [-1, 1]).
At other sizes the start is resolution / 4 (8x8 at 32) and the output has the dataset's
channels. The discriminator and optimizer are DCGAN's (``genbench_dcgan.gan``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from genbench_dcgan.gan import RESOLUTIONS, GanGenerator
from torch import nn

from harness import Generator, Requires, hookimpl, ops

WIDTH = 128
SLOPE = 0.2


def conv4_same(c_in: int, c_out: int) -> nn.Sequential:
    """A 4x4 conv with Keras' 'same' padding: the odd pixel of padding goes right and
    below (what padding="same" does too, but through a padded copy and a warning)."""
    return nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(c_in, c_out, 4))


class UpganNet(nn.Module):
    def __init__(self, latent: int, channels: int, resolution: int) -> None:
        super().__init__()
        if resolution % 4:
            raise ValueError(f"upgan needs a resolution divisible by 4 (two x2 upsamplings), got {resolution}")
        self.start = resolution // 4
        self.dense = nn.Linear(latent, WIDTH * self.start * self.start)
        self.conv5a = nn.Conv2d(WIDTH, WIDTH, 5, padding="same")
        self.conv5b = nn.Conv2d(WIDTH, WIDTH, 5, padding="same", bias=False)
        self.bias5b = nn.Parameter(torch.zeros(WIDTH))  # added by the fused op before the upsampling
        self.conv4a = conv4_same(WIDTH, WIDTH)
        self.conv4b = conv4_same(WIDTH, WIDTH)
        self.to_image = conv4_same(WIDTH, channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).view(-1, WIDTH, self.start, self.start)
        h = ops.bias_act_upsample(h, None, act="lrelu", alpha=SLOPE, scale=2)
        h = F.leaky_relu(self.conv5a(h), SLOPE)
        h = ops.bias_act_upsample(self.conv5b(h), self.bias5b, act="lrelu", alpha=SLOPE, scale=2)
        h = F.leaky_relu(self.conv4a(h), SLOPE)
        h = F.leaky_relu(self.conv4b(h), SLOPE)
        return torch.tanh(self.to_image(h))


class Upgan(GanGenerator):
    """The Fashion-MNIST upsampling GAN, with DCGAN's discriminator and optimizer settings."""

    name = "upgan"
    # Two x2 upsamplings, and DCGAN's discriminator.
    requires = Requires(resolutions=RESOLUTIONS, resolution_multiple_of=4)
    default_config: ClassVar[dict[str, Any]] = {**GanGenerator.default_config, "latent": 128}
    config_help: ClassVar[dict[str, str]] = {
        **GanGenerator.config_help, "width": "channels of the discriminator's first layer (the generator's are fixed)"}

    def build_generator(self) -> nn.Module:
        return UpganNet(self.config["latent"], self.dataset.channels, self.dataset.resolution)


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [Upgan]
