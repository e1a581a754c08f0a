"""The domain extractors behind ``fd-clocknet`` and ``fd-digitnet``: small CNNs trained on
the benchmark's own data by ``python -m harness.metrics.train_domain_nets``, with their
weights shipped in ``harness/metrics/weights/`` and checked against the SHA-256 below.

They work offline, always. Like StudioGAN's SwAV/DINO backbones or dgm-eval's DINOv2
FD, the column name says which network made the number.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from harness.api import Dataset, FeatureExtractor
from harness.metrics.inception import sha256_of

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
INPUT_SIZE = 32
FEATURE_DIM = 128
# What ``preprocess`` does, in the extractors' fingerprint (and so in the feature cache's
# key): change it with ``preprocess``, so no cached feature made the old way is served.
# "aa-shrinking-side": before, only a shrinking width was antialiased (a tall image was
# not), so entries made then miss, though square images, all the datasets have, are as
# before.
PREPROCESSING = f"gray-mean|bilinear-{INPUT_SIZE}|aa-shrinking-side"


class DomainNet(nn.Module):
    """32x32 grayscale -> 128-d features (the penultimate layer) -> ``outputs``."""

    def __init__(self, outputs: int, width: int = 16) -> None:
        super().__init__()
        w = width
        layers, c_in = [], 1
        for c_out, stride in ((w, 1), (2 * w, 2), (2 * w, 1), (4 * w, 2), (4 * w, 1), (4 * w, 2)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.ReLU()]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(4 * w * 4 * 4, FEATURE_DIM), nn.ReLU())
        self.head = nn.Linear(FEATURE_DIM, outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] images of any size and channel count -> the nets' input: the channel mean,
    resized to 32x32 (bilinear; antialiased along a side that shrinks), scaled to [-1, 1].

    A side that shrinks is antialiased whichever it is, so an image and its transpose are
    treated alike. PyTorch's antialiased bilinear is plain bilinear along a side that
    grows, so one flag serves a non-square image that shrinks one way and grows the other;
    an image smaller than 32x32 both ways is plain bilinear, as the nets were trained."""
    x = images.float().mean(dim=1, keepdim=True)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                          antialias=max(x.shape[-2:]) > INPUT_SIZE)
    return x * 2 - 1


def hour_class(outputs: torch.Tensor) -> torch.Tensor:
    """The hour (0-11) read from the clock net's (sin, cos) of the hour-hand angle."""
    angle = torch.atan2(outputs[:, 0], outputs[:, 3]) % (2 * math.pi)
    return (angle / (2 * math.pi / 12)).floor().long().clamp_(0, 11)


class _ShippedNetExtractor(FeatureExtractor):
    file: str
    sha256: str
    outputs: int
    feature_dim = FEATURE_DIM

    def __init__(self) -> None:
        self._nets: dict[str, DomainNet] = {}
        self._checked = False

    def weights_path(self) -> Path:
        return WEIGHTS_DIR / self.file

    def unavailable(self) -> str | None:
        path = self.weights_path()
        if not path.is_file():
            return f"{self.name} weights {path} are missing (reinstall genbench)"
        if not self._checked:
            actual = sha256_of(path)
            if actual != self.sha256:
                return (f"{self.name} weights {path} have SHA-256 {actual}, expected {self.sha256} "
                        "(retrain with: python -m harness.metrics.train_domain_nets, and update the hash)")
            self._checked = True
        return None

    def fingerprint(self) -> str:
        return f"{self.name}|{self.sha256}|{PREPROCESSING}"

    def net(self, device: torch.device) -> DomainNet:
        key = str(device)
        if key not in self._nets:
            reason = self.unavailable()
            if reason:
                raise RuntimeError(reason)
            net = DomainNet(self.outputs)
            net.load_state_dict(torch.load(self.weights_path(), map_location="cpu", weights_only=True))
            self._nets[key] = net.to(device).eval()
        return self._nets[key]

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Full float32 convolutions (no TF32) so a GPU gives the CPU's features: the
        # nets are small, exactness costs nothing here.
        with torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, allow_tf32=False):
            return self.net(images.device)(preprocess(images))


class ClockNet(_ShippedNetExtractor):
    """Reads a clock: sin and cos of the hour, minute and second hand angles. Its
    classes are the hour the hour hand points at."""

    name = "clocknet"
    description = "CNN trained to read the time from clocks, 128-d penultimate features"
    num_classes = 12
    file, outputs = "clocknet.pt", 6
    sha256 = "a884a6e080f7c72b4288357b0dad56eb9b681f9126a0f5a7c58017ec56b89908"

    def applies_to(self, dataset: Dataset) -> bool:
        return dataset.name == "clocks"

    def extract(self, images):
        features, out = self.forward(images)
        return features, hour_class(out)


class DigitNet(_ShippedNetExtractor):
    """Classifies handwritten digits 0-9 (trained on scikit-learn's digits)."""

    name = "digitnet"
    description = "CNN digit classifier trained on scikit-learn digits, 128-d penultimate features"
    num_classes = 10
    file, outputs = "digitnet.pt", 10
    sha256 = "b200a0e1a75edccb4fc7bbd166c8a1838b30bd2b0e3ef5e1f3a52f1cb3cabc1f"

    def applies_to(self, dataset: Dataset) -> bool:
        return dataset.name in ("digits", "mnist")

    def extract(self, images):
        features, logits = self.forward(images)
        return features, logits.argmax(dim=1)
