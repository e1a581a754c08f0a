"""FID parity with pytorch-fid, by a check that can fail.

``random_state_dict``'s untrained weights give pool3 features of about 1e-7, so any
tolerance passes them, zeros included. Here the test writes weights with a realistic
scale instead: random convolutions whose BatchNorm statistics are calibrated on the test
images themselves (every BatchNorm's running mean and variance are the per-channel mean
and variance its input has on these images), so every layer's output, and the pool3
features, are of order 1. The file is written under the real name and loaded by both
sides, genbench through its lookup and pytorch-fid's own constructor from the torch hub
cache (which is found there, so nothing is downloaded).

The check compares genbench's features and FID with pytorch-fid's on the same PNG files
at ``FEATURE_ATOL`` and ``FID_RTOL``. Measured here: the default (channels-last) differs
by 8.8e-5 at most and its FID by 5e-6 of itself; the contiguous layout not at all; zeros
and three wrong resizes (nearest, antialiased bilinear, 300x300) by 1.3 or more and their
FID by 15% or more, so they fail the same check by a factor of 1000 or more.
"""

from __future__ import annotations

import hashlib
import urllib.request
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from harness.metrics import frechet_distance, inception, statistics
from harness.metrics.features import extract, quantize

# Features are of order 1 (checked below); float rounding moves them by about 1e-4 at
# most (channels-last kernels), a wrong resize by 0.05 on average and by 1 or more at most.
FEATURE_ATOL = 1e-3
FID_RTOL = 1e-4  # the same margins for FID; pytorch-fid's sqrtm and genbench's eigvalsh agree to 1e-12 here


def _smooth(n: int, channels: int, size: tuple[int, int], g: torch.Generator, gain: float = 1.0) -> torch.Tensor:
    """Images with structure at several scales (upsampled noise plus pixel noise), in
    [-1, 1] except where ``gain`` > 1 pushes them out of range (clamped, as a PNG)."""
    low = torch.rand(n, channels, 5, 4, generator=g) * 2 - 1
    x = F.interpolate(low, size=size, mode="bicubic", align_corners=False)
    return gain * x + 0.15 * torch.randn(n, channels, *size, generator=g)


def _image_sets() -> dict[str, torch.Tensor]:
    """12 images in three PNG batches: grayscale and RGB ones smaller than 299 (upsampled,
    non-square) and RGB ones larger (downsampled, where antialiasing would show)."""
    g = torch.Generator().manual_seed(0)
    return {"gray": _smooth(4, 1, (32, 24), g, gain=1.2), "rgb": _smooth(4, 3, (32, 24), g),
            "large": _smooth(4, 3, (360, 330), g)}


def _as_fid_input(images: torch.Tensor) -> torch.Tensor:
    """What the extractor's model sees: 8-bit values in [0, 1], three channels."""
    x = quantize(images).float() / 255
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def calibrated_state_dict(sets: dict[str, torch.Tensor], seed: int = 0) -> dict[str, torch.Tensor]:
    """The FID Inception's layout with random convolutions and BatchNorm statistics
    measured on ``sets``. Running the network once in training mode with
    ``momentum=None`` and fresh statistics leaves in every BatchNorm the per-channel
    mean and (unbiased) variance of its input, each layer seeing the normalised output
    of the layers before it: so in eval mode every layer's output is of order 1."""
    torch.manual_seed(seed)
    net = inception.fid_inception_network()
    model = inception.pool3_model(net)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average: one pass sets the batch's statistics
    # Resized first (all to 299x299), so every image is in the one calibration batch.
    batch = torch.cat([inception.fid_input(_as_fid_input(x)) for x in sets.values()])
    with torch.no_grad():
        torch.nn.Sequential(*list(model)[1:]).train()(batch)
    return net.state_dict()


def _halves_in_their_span(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The even and the odd images' features (the two sets FID compares) in an
    orthonormal basis of the span of their centred features and the difference of their
    means: 13 coordinates instead of 2048. Both covariances and the mean difference lie in
    that span, so every term of FID, and FID itself, is unchanged, while the distance
    functions work on 13x13 matrices (scipy's ``sqrtm`` of 2048x2048 ones takes a minute
    on 2 cores). Computed from each side's own features: the basis is exact for either."""
    f = features.astype(np.float64)
    a, b = f[0::2], f[1::2]
    span = np.concatenate([a - a.mean(0), b - b.mean(0), (a.mean(0) - b.mean(0))[None]])
    basis, _ = np.linalg.qr(span.T)  # (2048, 13), orthonormal columns
    return a @ basis, b @ basis


def _fid(features: np.ndarray) -> float:
    """FID between the even and the odd images, by genbench's functions."""
    a, b = _halves_in_their_span(features)
    return frechet_distance(*statistics(a), *statistics(b))


def _pytorch_fid_fid(features: np.ndarray) -> float:
    """The same FID by pytorch-fid's own statistics and distance."""
    from pytorch_fid.fid_score import calculate_frechet_distance
    from scipy.linalg import LinAlgWarning

    a, b = _halves_in_their_span(features)
    with warnings.catch_warnings():  # its sqrtm of a rank-5 product: "ill-conditioned", yet accurate here
        warnings.simplefilter("ignore", LinAlgWarning)
        return float(calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False),
                                                b.mean(0), np.cov(b, rowvar=False)))


def parity_failures(ours: np.ndarray, theirs: np.ndarray) -> list[str]:
    """What makes genbench's features differ from pytorch-fid's beyond the tolerances
    (empty when they agree)."""
    failures = []
    worst = float(np.abs(ours - theirs).max())
    if worst > FEATURE_ATOL:
        failures.append(f"features differ by up to {worst:.3g} (tolerance {FEATURE_ATOL})")
    ours_fid, theirs_fid = _fid(ours), _pytorch_fid_fid(theirs)
    if abs(ours_fid - theirs_fid) > FID_RTOL * theirs_fid:
        failures.append(f"FID {ours_fid:.6g} against pytorch-fid's {theirs_fid:.6g}")
    return failures


def _no_network(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args[:1]}")


@pytest.fixture(scope="module")
def parity(tmp_path_factory) -> dict:
    """The test images, written as PNG files; calibrated weights written where pytorch-fid
    looks (the torch hub cache under a test TORCH_HOME); pytorch-fid's features of the
    PNG files. Module-scoped: every test below compares against the same reference."""
    from pytorch_fid.fid_score import get_activations
    from pytorch_fid.inception import InceptionV3

    root = tmp_path_factory.mktemp("fid_parity")
    sets = _image_sets()
    home = root / "torch_home"
    path = home / "hub" / "checkpoints" / inception.WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save(calibrated_state_dict(sets), path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(home))
        # torch.hub holds its own reference to urlopen: its download function is the door.
        mp.setattr(urllib.request, "urlopen", _no_network)
        mp.setattr(torch.hub, "download_url_to_file", _no_network)
        model = InceptionV3([3]).eval()  # loads the file above from the hub cache
        theirs = []
        for name, batch in sets.items():
            files = []
            for i, img in enumerate(quantize(batch)):
                files.append(root / f"{name}{i}.png")
                Image.fromarray(img.permute(1, 2, 0).squeeze(-1).numpy()).save(files[-1])
            theirs.append(get_activations(files, model, batch_size=len(files), num_workers=0))
    return {"sets": sets, "home": home, "sha": hashlib.sha256(path.read_bytes()).hexdigest(),
            "theirs": np.concatenate(theirs)}


@pytest.fixture
def ours(parity, monkeypatch) -> Callable[..., np.ndarray]:
    """genbench's features of the test images (from tensors, no PNG), by its lookup of the
    test weights; keyword arguments go to InceptionExtractor."""
    monkeypatch.setenv("TORCH_HOME", str(parity["home"]))
    monkeypatch.delenv(inception.PATH_ENV, raising=False)
    monkeypatch.delenv(inception.DOWNLOAD_ENV, raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)

    def features(**options) -> np.ndarray:
        extractor = inception.InceptionExtractor(expected_sha256=parity["sha"], **options)
        return np.concatenate([extract(extractor, x, torch.device("cpu")).features
                               for x in parity["sets"].values()])

    return features


def test_the_weights_give_features_of_order_one(parity):
    theirs = parity["theirs"]
    assert theirs.shape == (12, 2048)
    assert 0.1 < np.abs(theirs).mean() < 2 and theirs.max() < 20  # not 1e-7, as untrained weights give
    assert theirs.std(axis=0).mean() > 0.05  # the images' features differ from each other
    assert _pytorch_fid_fid(theirs) > 1


def test_features_and_fid_equal_pytorch_fid(parity, ours):
    """The default, channels-last convolutions: pytorch-fid's features up to float
    rounding, well inside the tolerance."""
    features = ours()
    assert parity_failures(features, parity["theirs"]) == []
    assert np.abs(features - parity["theirs"]).max() < FEATURE_ATOL / 2


def test_contiguous_layout_is_pytorch_fid_bit_for_bit(parity, ours):
    """``channels_last=False`` is pytorch-fid's own computation: on the CPU, the same
    bits (the PNG round trip of 8-bit images is exact)."""
    np.testing.assert_array_equal(ours(channels_last=False), parity["theirs"])


def test_zeros_fail_the_check(parity):
    failures = parity_failures(np.zeros_like(parity["theirs"]), parity["theirs"])
    assert len(failures) == 2, failures


WRONG_RESIZES = {
    "nearest": lambda x: F.interpolate(x, size=(299, 299), mode="nearest"),
    "antialiased": lambda x: F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False, antialias=True),
    "off by one": lambda x: F.interpolate(x, size=(300, 300), mode="bilinear", align_corners=False),
}


@pytest.mark.parametrize("wrong", WRONG_RESIZES)
def test_a_wrong_resize_fails_the_check(parity, ours, monkeypatch, wrong):
    """The tolerance discriminates: genbench with any of these resizes would fail the
    parity test above, on the features and on the FID."""
    resize = WRONG_RESIZES[wrong]
    monkeypatch.setattr(inception, "fid_input", lambda x: 2 * resize(x) - 1)
    failures = parity_failures(ours(), parity["theirs"])
    assert len(failures) == 2, failures
