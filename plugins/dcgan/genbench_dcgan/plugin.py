"""DCGAN (Radford et al. 2016, as the DCGAN-on-MNIST paper trains it): a 100-d latent,
transposed convolutions with batch norm and ReLU, tanh output; the conv discriminator of
``gan.py``; BCE; Adam lr 2e-4, betas (0.5, 0.999), batch 64; images in [-1, 1]."""

from __future__ import annotations

from torch import nn

from harness import Generator, Requires, hookimpl

from .gan import RESOLUTIONS, GanGenerator, init_dcgan_weights, up_steps


class DcganNet(nn.Module):
    """latent -> ConvT(start x start) -> [ConvT 4x4 stride 2, BN, ReLU] x k -> tanh."""

    def __init__(self, latent: int, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        k = up_steps(resolution)
        start = resolution // 2**k
        c = width * 2**k
        layers: list[nn.Module] = [nn.Unflatten(1, (latent, 1, 1)),
                                   nn.ConvTranspose2d(latent, c, start, 1, 0, bias=False),
                                   nn.BatchNorm2d(c), nn.ReLU()]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1) if k else nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class Dcgan(GanGenerator):
    """DCGAN, adapted to the dataset's resolution (28, 32, 64, ...) and channels."""

    name = "dcgan"
    requires = Requires(resolutions=RESOLUTIONS)

    def build_generator(self) -> nn.Module:
        c, d = self.config, self.dataset
        net = DcganNet(c["latent"], d.channels, d.resolution, c["width"])
        init_dcgan_weights(net)
        return net


@hookimpl
def genbench_generators() -> list[type[Generator]]:
    return [Dcgan]
