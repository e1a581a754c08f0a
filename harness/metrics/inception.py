"""FID's Inception: pytorch-fid's InceptionV3 with the FID weights, found without a
network where they are on disk, verified by SHA-256, and never replaced silently.

Lookup order (``weights_lookup``):

1. ``--fid-weights PATH`` (which sets ``GENBENCH_FID_WEIGHTS``);
2. the torch hub cache, ``$TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth``;
3. pytorch-fid's download, only when ``GENBENCH_FID_DOWNLOAD=1`` says a network may be
   used (or by ``genbench weights fetch``). A run never probes the network on its own:
   on an offline machine a probe costs a time-out, and in CI it is traffic nobody asked for.
"""

from __future__ import annotations

import functools
import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from harness.api import FeatureExtractor
from harness.atomic import atomic_path

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
# The SHA-256 recorded publicly for this file (torch-fidelity re-hosts the same bytes);
# torch hub's file name carries its first 8 hex digits.
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_FILE}"
PATH_ENV, DOWNLOAD_ENV = "GENBENCH_FID_WEIGHTS", "GENBENCH_FID_DOWNLOAD"


class WeightsError(RuntimeError):
    """The FID weights are missing or are not the file they claim to be."""


@dataclass
class Location:
    """One place the weights are looked for."""

    where: str
    path: Path | None
    found: bool


def hub_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def download_allowed() -> bool:
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes")


def locations() -> list[Location]:
    """Where the weights are looked up, in order, and whether a file is there."""
    explicit = os.environ.get(PATH_ENV)
    explicit_path = Path(explicit).expanduser() if explicit else None
    return [
        Location(f"--fid-weights / {PATH_ENV}", explicit_path, bool(explicit_path and explicit_path.is_file())),
        Location("torch hub cache", hub_path(), hub_path().is_file()),
        Location(f"download ({DOWNLOAD_ENV}=1 or genbench weights fetch)", None, download_allowed()),
    ]


def describe_locations() -> list[str]:
    """The lookup order as numbered lines for ``genbench env`` and ``weights status``."""
    lines = []
    for i, place in enumerate(locations(), 1):
        if place.path:
            state = "found" if place.found else "not found"
        elif i == 1:
            state = "not set"
        else:
            state = "on" if place.found else "off"
        lines.append(f"  {i}. {place.where}: {place.path or '-'} ({state})")
    return lines


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and mtime as well, so a file replaced in place is hashed again; a
    # file that fails the check is not hashed again for every metric that asks.
    return sha256_of(Path(path))


def verify(path: Path, expected: str = WEIGHTS_SHA256) -> None:
    """Raises WeightsError unless the file's SHA-256 is ``expected``."""
    st = path.stat()
    actual = _sha256_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)
    if actual != expected:
        raise WeightsError(f"FID weights {path} have SHA-256 {actual}, expected {expected}: not the "
                           f"{WEIGHTS_FILE} FID is defined with (re-download with: genbench weights fetch)")


def weights_lookup(expected: str = WEIGHTS_SHA256) -> Path:
    """The verified weights file, by the lookup order above; WeightsError saying where
    it looked when there is none. A file that is found but fails the hash is an error,
    not a reason to look further: the user pointed at it."""
    explicit, hub, _ = locations()
    if explicit.path is not None:
        if not explicit.found:
            raise WeightsError(f"{PATH_ENV} / --fid-weights points to {explicit.path}, which does not exist")
        verify(explicit.path, expected)
        return explicit.path
    if hub.found:
        verify(hub.path, expected)
        return hub.path
    if download_allowed():
        return fetch(expected=expected)
    raise WeightsError(f"no FID Inception weights: not given ({PATH_ENV} / --fid-weights), not in the torch "
                       f"hub cache ({hub.path}), and downloading is off (run genbench weights fetch where "
                       f"there is a network, or set {DOWNLOAD_ENV}=1)")


def fetch(url: str = WEIGHTS_URL, dest: Path | None = None, expected: str = WEIGHTS_SHA256) -> Path:
    """Downloads the weights to ``dest`` (default: the torch hub cache), verifying the
    hash before the file takes its final name."""
    dest = dest or hub_path()
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        actual = sha256_of(tmp)
        if actual != expected:  # raised inside: the download is removed, never renamed
            raise WeightsError(f"downloaded {url} has SHA-256 {actual}, expected {expected}; not installed")
    return dest


# pytorch-fid's InceptionV3 up to pool3 (its blocks 0 to 3, in order): the network's
# layers by name, and "maxpool" / "avgpool" for the pooling layers pytorch-fid adds itself.
_POOL3_LAYERS = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool",
    "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool",
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
    "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool",
)


def fid_inception_network() -> torch.nn.Module:
    """The FID Inception network with untrained weights, in the weights file's layout:
    torchvision's InceptionV3 with pytorch-fid's FID blocks, as pytorch-fid's
    ``fid_inception_v3`` builds it, without its download."""
    from pytorch_fid import inception as fid

    net = fid._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = fid.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = fid.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = fid.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = fid.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = fid.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = fid.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = fid.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = fid.FIDInceptionE_1(1280)
    net.Mixed_7c = fid.FIDInceptionE_2(2048)
    return net


def fid_input(x: torch.Tensor) -> torch.Tensor:
    """pytorch-fid's input handling: bilinear resize to 299x299 (no antialiasing, corners
    not aligned, as its ``InceptionV3.forward``), then [0, 1] to [-1, 1]. A module-level
    function so a test can swap in a wrong resize and see the parity check fail."""
    x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    return 2 * x - 1


class _FidInput(torch.nn.Module):
    """``fid_input`` as the model's first layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fid_input(x)  # looked up at call time: see fid_input


def _layer(net: torch.nn.Module, name: str) -> torch.nn.Module:
    if name == "maxpool":
        return torch.nn.MaxPool2d(kernel_size=3, stride=2)
    if name == "avgpool":
        return torch.nn.AdaptiveAvgPool2d(output_size=(1, 1))
    return getattr(net, name)


def pool3_model(net: torch.nn.Module) -> torch.nn.Sequential:
    """``net`` (``fid_inception_network``'s layout) as pytorch-fid's ``InceptionV3([3])``:
    its input handling, the layers up to pool3, flattened to ``(N, 2048)``. The layers are
    ``net``'s own modules, not copies."""
    layers = [_layer(net, name) for name in _POOL3_LAYERS]
    return torch.nn.Sequential(_FidInput(), *layers, torch.nn.Flatten())


def build_model(state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
    """pytorch-fid's ``InceptionV3([3])`` (its resize and input scaling, pool3 output,
    flattened to ``(N, 2048)``) with ``state_dict`` loaded, in eval mode.

    Assembled here rather than by pytorch-fid's constructor, which fetches the weights
    itself; ``tests/test_fid_parity.py`` checks the features equal pytorch-fid's.
    """
    net = fid_inception_network()
    net.load_state_dict(state_dict)
    return pool3_model(net).requires_grad_(False).eval()


class InceptionExtractor(FeatureExtractor):
    """FID: pool3 features of pytorch-fid's InceptionV3, inputs resized to 299x299.

    ``channels_last=True`` (the default) runs the convolutions channels-last: 1.45x
    faster on the 2-core dev CPU (oneDNN), and features that differ from pytorch-fid's by
    float rounding only (at most 1.2e-4 on features of order 1; the FID by about 1e-6 of
    itself: docs/metrics.md has the measurement). ``channels_last=False`` runs them in
    pytorch-fid's own (contiguous) layout: on the CPU, its features bit for bit.
    """

    name = "inception"
    fd_name = "fid"
    description = "pytorch-fid InceptionV3 pool3, 2048-d, FID weights"
    batch_size = 50  # pytorch-fid's default
    feature_dim = 2048

    def __init__(self, expected_sha256: str = WEIGHTS_SHA256, channels_last: bool = True) -> None:
        self.expected = expected_sha256
        self.channels_last = channels_last
        self._models: dict[tuple[str, str], torch.nn.Module] = {}

    def unavailable(self) -> str | None:
        try:
            weights_lookup(self.expected)
        except (WeightsError, OSError) as exc:
            return str(exc)
        return None

    def fingerprint(self) -> str:
        # The layout is part of it, as the two give different float rounding: a cache
        # entry made with one is not served to the other. The channels-last one is the
        # fingerprint genbench always had, so the entries it cached stay valid.
        layout = "" if self.channels_last else "|contiguous"
        return f"pytorch-fid-inception-v3|pool3|bilinear-299|{self.expected}{layout}"

    @property
    def _memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def _model(self, device: torch.device) -> torch.nn.Module:
        path = weights_lookup(self.expected)
        key = (str(path), str(device))
        if key not in self._models:
            state = torch.load(path, map_location="cpu", weights_only=True)
            self._models[key] = build_model(state).to(device, memory_format=self._memory_format)
        return self._models[key]

    def extract(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        if images.shape[1] == 1:  # what PIL's convert("RGB") does to a grayscale PNG
            images = images.expand(-1, 3, -1, -1)
        images = images.contiguous(memory_format=self._memory_format)
        return self._model(images.device)(images), None
