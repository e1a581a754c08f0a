"""``clocks``: analog clock faces rendered procedurally from a time (h, m, s).

The data is exact and unlimited, and gives the ground truth for paired SSIM. A clock has
a circular dial, 12 hour marks, and hour, minute and second hands at the right angles:
the hour hand moves with the minutes, the minute hand with the seconds. Shapes are
distance fields, anti-aliased by a one-pixel coverage ramp, vectorized over the batch.
"""

from __future__ import annotations

import functools
import math
import re

import torch

from harness.api import Batch, Dataset, DataSplit
from harness.errors import UsageError

SECONDS_PER_DIAL = 12 * 3600
TEST_SIZE = 512
VAL_SIZE = 512

# (length, thickness) in dial radii; thickness is the full width.
HANDS = {"hour": (0.48, 0.11), "minute": (0.72, 0.07), "second": (0.80, 0.045)}
DIAL_RADIUS, DIAL_WIDTH = 0.90, 0.07
MARK_INNER, MARK_OUTER, MARK_WIDTH = 0.66, 0.84, 0.07
# Ink colours on a black background: grayscale intensity, and RGB per element.
GRAY = {"dial": 1.0, "marks": 1.0, "hour": 1.0, "minute": 1.0, "second": 0.6}
RGB = {
    "dial": (1.0, 1.0, 1.0),
    "marks": (1.0, 1.0, 1.0),
    "hour": (1.0, 0.25, 0.2),
    "minute": (0.2, 0.9, 0.3),
    "second": (0.3, 0.5, 1.0),
}


def parse_time(text: str) -> tuple[int, int, int]:
    """``"11:10:30"`` -> (11, 10, 30); hours 0-23 (a 12-hour dial), minutes/seconds 0-59."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*", text)
    if not m:
        raise UsageError(f"time {text!r} is not HH:MM:SS (e.g. 11:10:30)")
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if not (0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s <= 59):
        raise UsageError(f"time {text!r} is out of range: hours 0-23, minutes and seconds 0-59")
    return h, mi, s


def hand_angles(seconds: torch.Tensor) -> torch.Tensor:
    """Clockwise angles from 12 o'clock (radians) of the hour, minute and second hands,
    for times given as seconds past 12:00:00. Returns (N, 3)."""
    s = seconds.to(torch.float64) % SECONDS_PER_DIAL
    hour = s / SECONDS_PER_DIAL * 2 * math.pi
    minute = (s % 3600) / 3600 * 2 * math.pi
    second = (s % 60) / 60 * 2 * math.pi
    return torch.stack([hour, minute, second], dim=1)


def time_features(seconds: torch.Tensor) -> torch.Tensor:
    """The generator's input: sin and cos of the three hand angles, (N, 6) float32."""
    a = hand_angles(seconds)
    return torch.cat([a.sin(), a.cos()], dim=1).float()


@functools.lru_cache(maxsize=8)
def _grid(resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    c = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 - 1
    y, x = torch.meshgrid(c, c, indexing="ij")  # pixel centres in [-1, 1], y down
    return x, y


def _coverage(dist: torch.Tensor, width: float | torch.Tensor, resolution: int) -> torch.Tensor:
    """Fraction of a pixel covered by a stroke of ``width`` at distance ``dist``."""
    pixel = 2.0 / resolution
    return ((width / 2 - dist) / pixel + 0.5).clamp(0, 1)


def _hands(x, y, angles: torch.Tensor, resolution: int) -> torch.Tensor:
    """Coverage of the three hands (HANDS order), each from the centre along its angle
    (clockwise from 12): (N, 3, R, R), one pass over the batch for all three."""
    # sin/cos per hand, as a column at a time: the values stay those of one (N,) call.
    dx = torch.stack([torch.sin(angles[:, i]) for i in range(len(HANDS))], dim=1)[:, :, None, None]
    dy = torch.stack([-torch.cos(angles[:, i]) for i in range(len(HANDS))], dim=1)[:, :, None, None]
    length, width = _hand_shapes()
    along = (x * dx + y * dy).clamp_min(0).minimum(length)
    return _coverage(torch.hypot(x - along * dx, y - along * dy), width, resolution)


@functools.lru_cache(maxsize=1)
def _hand_shapes() -> tuple[torch.Tensor, torch.Tensor]:
    """Lengths and widths of the hands, (1, 3, 1, 1) each, float32 as the scalars become."""
    return tuple(torch.tensor([shape[k] for shape in HANDS.values()], dtype=torch.float32).view(1, -1, 1, 1)
                 for k in (0, 1))


@functools.lru_cache(maxsize=8)
def _face(resolution: int) -> dict[str, torch.Tensor]:
    x, y = _grid(resolution)
    r = torch.hypot(x, y)
    dial = _coverage((r - DIAL_RADIUS).abs(), DIAL_WIDTH, resolution)
    theta = torch.atan2(x, -y)  # clockwise from 12
    nearest = torch.round(theta / (math.pi / 6)) * (math.pi / 6)
    # Distance to the nearest hour mark: a segment along the radius at angle `nearest`.
    along = (r * torch.cos(theta - nearest)).clamp(MARK_INNER, MARK_OUTER)
    across = r * torch.sin(theta - nearest)
    dist = torch.hypot(r * torch.cos(theta - nearest) - along, across)
    return {"dial": dial, "marks": _coverage(dist, MARK_WIDTH, resolution)}


def _blend(img: torch.Tensor, alpha: torch.Tensor, name: str, channels: int) -> torch.Tensor:
    colour = torch.tensor(GRAY[name] if channels == 1 else RGB[name]).view(1, -1, 1, 1)
    return img * (1 - alpha) + colour * alpha


@functools.lru_cache(maxsize=8)
def _background(resolution: int, channels: int) -> torch.Tensor:
    """The dial and the marks on black, (1, channels, R, R): the same on every clock, so
    blended once rather than per image (element for element the same arithmetic)."""
    img = torch.zeros(1, channels, resolution, resolution)
    for name, layer in _face(resolution).items():  # dial, then marks on top
        img = _blend(img, layer[None, None], name, channels)
    return img


def render(seconds: torch.Tensor, resolution: int = 32, channels: int = 1) -> torch.Tensor:
    """Clock images (N, channels, R, R) in [-1, 1] for times in seconds past 12:00:00."""
    if resolution < 8:
        raise ValueError(f"clock resolution must be >= 8, got {resolution}")
    if channels not in (1, 3):
        raise ValueError(f"clock channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    x, y = _grid(resolution)
    hands = _hands(x, y, hand_angles(seconds).float(), resolution)
    img = _background(resolution, channels).expand(len(seconds), -1, -1, -1)
    for name in ("second", "minute", "hour"):  # later hands on top
        i = list(HANDS).index(name)
        img = _blend(img, hands[:, i:i + 1], name, channels)
    return img * 2 - 1


class ClockSplit(DataSplit):
    """Times rendered on demand: the train split is far too large to hold as images."""

    def __init__(self, seconds: torch.Tensor, resolution: int, channels: int) -> None:
        self.seconds, self.resolution, self.channels = seconds, resolution, channels

    def __len__(self) -> int:
        return len(self.seconds)

    def get(self, indices: torch.Tensor) -> Batch:
        s = self.seconds[indices]
        return Batch(render(s, self.resolution, self.channels), time_features(s), labels=s)


# Every batch is drawn at this size: 512 x 512 is already 64x the standard 64 x 64.
MAX_RESOLUTION = 512


def build(seed: int = 0, resolution: int = 32, channels: int = 1) -> Dataset:
    """All 43,200 distinct times of a 12-hour dial, split by ``seed`` into disjoint
    test (512), validation (512) and train (the rest) sets of times."""
    if not 8 <= resolution <= MAX_RESOLUTION:
        raise UsageError(f"clocks: resolution must be from 8 to {MAX_RESOLUTION} (32 and 64 are standard), "
                         f"got {resolution}")
    if channels not in (1, 3):
        raise UsageError(f"clocks: channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    order = torch.randperm(SECONDS_PER_DIAL, generator=torch.Generator().manual_seed(seed))
    test, val, train = order[:TEST_SIZE], order[TEST_SIZE:TEST_SIZE + VAL_SIZE], order[TEST_SIZE + VAL_SIZE:]
    # Kept in the seeded random order: the first N test items are an unbiased sample.
    split = lambda s: ClockSplit(s, resolution, channels)  # noqa: E731
    return Dataset(
        name="clocks",
        resolution=resolution,
        channels=channels,
        train=split(train),
        val=split(val),
        test=split(test),
        condition_dim=6,
        options={"resolution": resolution, "channels": channels, "split_seed": seed},
        render=lambda cond_seconds: render(cond_seconds, resolution, channels),
        description="analog clocks rendered from a time (condition: sin/cos of the hand angles)",
    )
