"""The clocks dataset: hands at the right angles, disjoint seeded splits, time parsing."""

from __future__ import annotations

import math

import pytest
import torch

from harness.datasets import clocks
from harness.errors import UsageError


def seconds(h, m, s):
    return torch.tensor([(h % 12) * 3600 + m * 60 + s])


def brightness_along(img: torch.Tensor, angle_deg: float, r0: float, r1: float) -> float:
    """Mean intensity along a ray from the centre (clockwise from 12) between radii r0, r1."""
    res = img.shape[-1]
    a = math.radians(angle_deg)
    values = []
    for r in torch.linspace(r0, r1, 12):
        x, y = r * math.sin(a), -r * math.cos(a)
        col, row = int((x + 1) / 2 * res), int((y + 1) / 2 * res)
        values.append(img[0, 0, row, col].item())
    return sum(values) / len(values)


def test_three_oclock_hands():
    img = clocks.render(seconds(3, 0, 0), resolution=64)
    assert img.shape == (1, 1, 64, 64) and img.min() >= -1 and img.max() <= 1
    # Hour hand points right (90 deg), minute and second hands up (0 deg).
    assert brightness_along(img, 90, 0.1, 0.4) > 0.5
    assert brightness_along(img, 0, 0.1, 0.65) > 0.5
    assert brightness_along(img, 180, 0.1, 0.4) < -0.9  # nothing points down


def test_hour_hand_moves_with_minutes_and_minute_with_seconds():
    a = clocks.hand_angles(seconds(11, 10, 30))[0]
    assert math.degrees(a[0].item()) == pytest.approx(11 * 30 + 10.5 * 0.5)
    assert math.degrees(a[1].item()) == pytest.approx(10 * 6 + 30 * 0.1)
    assert math.degrees(a[2].item()) == pytest.approx(30 * 6)
    img = clocks.render(seconds(6, 30, 0), resolution=64)
    assert brightness_along(img, 195, 0.1, 0.4) > 0.3  # half past six: hour hand halfway to 7


def test_dial_and_twelve_marks():
    img = clocks.render(seconds(0, 0, 0), resolution=64)
    for k in range(12):
        if k == 0:
            continue  # 12 o'clock is covered by the hands here
        assert brightness_along(img, k * 30, 0.68, 0.82) > 0.3, f"no hour mark at {k}"
        assert brightness_along(img, k * 30 + 15, 0.68, 0.82) < -0.8, "ink between marks"
    assert brightness_along(img, 45, 0.88, 0.92) > 0.3  # the dial


def test_rgb_and_sizes():
    img = clocks.render(seconds(1, 2, 3), resolution=32, channels=3)
    assert img.shape == (1, 3, 32, 32)
    assert not torch.allclose(img[:, 0], img[:, 2])  # coloured hands


def test_splits_are_disjoint_and_fixed_by_seed():
    a, b, c = clocks.build(seed=0), clocks.build(seed=0), clocks.build(seed=1)
    train, val, test = (set(s.seconds.tolist()) for s in (a.train, a.val, a.test))
    assert not (train & val or train & test or val & test)
    assert len(train) + len(val) + len(test) == clocks.SECONDS_PER_DIAL
    assert torch.equal(a.test.seconds, b.test.seconds)
    assert not torch.equal(a.test.seconds, c.test.seconds)
    batch = a.test.get(torch.arange(4))
    assert batch.conditions.shape == (4, 6)
    torch.testing.assert_close(batch.images, a.render(batch.labels))


@pytest.mark.parametrize("text", ["25:61:00", "12:60:00", "1:2:60", "noon", "11-10-30"])
def test_bad_times(text):
    with pytest.raises(UsageError, match=text):
        clocks.parse_time(text)


def test_good_times():
    assert clocks.parse_time("11:10:30") == (11, 10, 30)
    assert clocks.parse_time("23:59") == (23, 59, 0)
