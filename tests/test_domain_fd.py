"""The domain extractors: shipped weights verify; they do their job (read the hour,
classify the digit); their FD separates two real splits from noise and blur; KID and
mode coverage in their spaces behave."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from harness.datasets import clocks, digits
from harness.metrics import frechet_distance, kid, statistics
from harness.metrics.coverage import class_kl, classes_covered
from harness.metrics.domain_nets import ClockNet, DigitNet, hour_class, preprocess
from harness.metrics.features import extract, quantize
from harness.metrics.inception import sha256_of
from tests.conftest import devices

CPU = torch.device("cpu")


def fd(extractor, a, b, device=CPU) -> float:
    fa, fb = extract(extractor, a, device).features, extract(extractor, b, device).features
    return frechet_distance(*statistics(fa), *statistics(fb))


def blurred(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Detail removed below ``factor`` pixels: average-pooled, then resized back."""
    h = images.shape[-1]
    return F.interpolate(F.avg_pool2d(images, factor), size=(h, h), mode="bilinear", align_corners=False)


@pytest.fixture(scope="module")
def clock_splits():
    data = clocks.build(seed=0)
    return data.test.get(torch.arange(512)), data.val.get(torch.arange(512))


@pytest.fixture(scope="module")
def digit_splits():
    data = digits.build(seed=0, resolution=32)
    return data.test.get(torch.arange(len(data.test))), data.val.get(torch.arange(len(data.val)))


@pytest.mark.parametrize("extractor", [ClockNet(), DigitNet()], ids=lambda e: e.name)
def test_shipped_weights_verify(extractor):
    assert extractor.unavailable() is None
    assert extractor.fd_column == f"fd-{extractor.name}"


def _angle_error_deg(out: torch.Tensor, truth: torch.Tensor, hand: int) -> torch.Tensor:
    a = torch.atan2(out[:, hand], out[:, hand + 3])
    b = torch.atan2(truth[:, hand], truth[:, hand + 3])
    return ((a - b + math.pi) % (2 * math.pi) - math.pi).abs() * 180 / math.pi


def test_clocknet_reads_the_time(clock_splits):
    test, _ = clock_splits
    net = ClockNet().net(CPU)
    for res, ch in ((32, 1), (64, 3)):
        images = quantize(clocks.render(test.labels, res, ch)).float() / 255
        with torch.no_grad():
            _, out = net(preprocess(images))
        # Median error of the hour and minute hands: under 4 degrees (8 and 0.7 minutes).
        for hand in (0, 1):
            assert _angle_error_deg(out, test.conditions, hand).median() < 4, (res, ch, hand)
        # The hour class flips near a boundary whenever the angle is a little off.
        assert (hour_class(out) == hour_class(test.conditions)).float().mean() > 0.88, (res, ch)


def test_digitnet_classifies(digit_splits):
    test, _ = digit_splits
    got = torch.from_numpy(extract(DigitNet(), test.images, CPU).classes)
    assert (got == test.labels).float().mean() > 0.9


@pytest.mark.parametrize("which", ["clocks", "digits"])
def test_fd_separates_real_from_noise_and_blur(which, clock_splits, digit_splits):
    # The 32x32 digits are 8x8 images enlarged, so only a coarser blur removes detail.
    (test, val), extractor, factor = ((clock_splits, ClockNet(), 4) if which == "clocks"
                                      else (digit_splits, DigitNet(), 8))
    real = fd(extractor, test.images, val.images)
    noise = fd(extractor, test.images, torch.rand_like(val.images) * 2 - 1)
    blur = fd(extractor, test.images, blurred(val.images, factor))
    assert real * 10 < noise and real * 5 < blur, (real, noise, blur)


def test_kid_near_zero_between_real_splits(clock_splits):
    test, val = clock_splits
    ft, fv = (extract(ClockNet(), x.images, CPU).features for x in (test, val))
    noise = extract(ClockNet(), torch.rand_like(val.images) * 2 - 1, CPU).features
    real_mean, real_std = kid(ft, fv, subsets=20, subset_size=256)
    noise_mean, _ = kid(ft, noise, subsets=20, subset_size=256)
    assert abs(real_mean) < 3 * real_std + 1e-3 and noise_mean > 50 * max(abs(real_mean), real_std)


def test_mode_coverage_on_clocks(clock_splits):
    test, val = clock_splits
    real = extract(ClockNet(), test.images, CPU).classes
    other = extract(ClockNet(), val.images, CPU).classes
    assert classes_covered(other, 12) == 12 and class_kl(other, real, 12) < 0.05
    stuck = clocks.render(torch.full((256,), 4 * 3600 + 600), 32, 1)  # every sample 04:10:00
    collapsed = extract(ClockNet(), stuck, CPU).classes
    assert classes_covered(collapsed, 12) == 1 and class_kl(collapsed, real, 12) > 2.0


@pytest.mark.parametrize("device", devices())
def test_features_agree_across_devices(device, clock_splits):
    images = clock_splits[0].images[:64]
    here = extract(ClockNet(), images, torch.device(device)).features
    torch.testing.assert_close(torch.from_numpy(here), torch.from_numpy(extract(ClockNet(), images, CPU).features),
                               rtol=1e-3, atol=1e-4)


def test_training_script_is_deterministic(tmp_path):
    """Two short trainings of both nets write the same bytes (in subprocesses: the script
    switches on deterministic algorithms and fixes the thread count for its process)."""
    hashes = []
    for out in (tmp_path / "a", tmp_path / "b"):
        r = subprocess.run([sys.executable, "-m", "harness.metrics.train_domain_nets", "--steps", "3",
                            "--out", str(out)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        hashes.append([sha256_of(out / f"{name}.pt") for name in ("clocknet", "digitnet")])
    assert hashes[0] == hashes[1]


@pytest.mark.parametrize("shape", [(96, 32), (96, 16), (40, 24), (64, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_preprocess_antialiases_a_shrinking_side_either_way(shape):
    """An image and its transpose are resized alike, whichever side shrinks (a shrinking
    height used to go unfiltered when the width did not shrink), and one-pixel stripes
    across a side shrunk 3x average to near gray instead of aliasing into full stripes."""
    h, w = shape
    stripes = (torch.arange(h) % 2).float().view(1, 1, h, 1).expand(2, 3, h, w)  # 3 channels: their mean
    out = preprocess(stripes)
    assert out.shape == (2, 1, 32, 32)
    torch.testing.assert_close(preprocess(stripes.transpose(-1, -2)), out.transpose(-1, -2))
    if h == 96:  # near gray (0.5, scaled to 0): the triangle filter leaves 1/9 of the stripes, aliasing all of them
        assert out.abs().max() < 0.15 and out.mean().abs() < 0.01


def test_preprocess_of_square_images_is_as_trained():
    """Square images, all the datasets have, are resized as the shipped nets were trained:
    antialiased when larger than 32, plain bilinear when smaller."""
    for size, antialias in ((64, True), (16, False), (8, False)):
        x = torch.rand(2, 1, size, size, generator=torch.Generator().manual_seed(size))
        expected = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False, antialias=antialias)
        torch.testing.assert_close(preprocess(x), expected * 2 - 1, rtol=0, atol=0)


@pytest.mark.parametrize("extractor", [ClockNet(), DigitNet()], ids=lambda e: e.name)
def test_fingerprint_names_the_preprocessing(extractor):
    """Cached real features are keyed by the fingerprint: it must change with
    ``preprocess`` (this one did when tall images became antialiased)."""
    assert extractor.fingerprint() == f"{extractor.name}|{extractor.sha256}|gray-mean|bilinear-32|aa-shrinking-side"
