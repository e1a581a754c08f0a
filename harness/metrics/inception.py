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

import contextlib
import functools
import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import torch

from harness.api import FeatureExtractor

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
# The SHA-256 recorded publicly for this file (torch-fidelity re-hosts the same bytes);
# torch hub's file name carries its first 8 hex digits.
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_FILE}"
PATH_ENV, DOWNLOAD_ENV = "GENBENCH_FID_WEIGHTS", "GENBENCH_FID_DOWNLOAD"
DIMS = 2048  # pool3, the features FID is defined on


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
        Location(f"download ({DOWNLOAD_ENV}=1 or `genbench weights fetch`)", None, download_allowed()),
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
                           f"{WEIGHTS_FILE} FID is defined with (re-download with `genbench weights fetch`)")


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
                       f"hub cache ({hub.path}), and downloading is off (run `genbench weights fetch` where "
                       f"there is a network, or set {DOWNLOAD_ENV}=1)")


def fetch(url: str = WEIGHTS_URL, dest: Path | None = None, expected: str = WEIGHTS_SHA256) -> Path:
    """Downloads the weights to ``dest`` (default: the torch hub cache), verifying the
    hash before the file takes its final name."""
    dest = dest or hub_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        actual = sha256_of(Path(tmp))
        if actual != expected:
            raise WeightsError(f"downloaded {url} has SHA-256 {actual}, expected {expected}; not installed")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return dest


def build_model(state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
    """pytorch-fid's InceptionV3 (pool3 output, its own resize and normalization) with
    ``state_dict`` loaded: pytorch-fid's construction, its download replaced by the
    file genbench found and verified."""
    from pytorch_fid import inception

    with mock.patch.object(inception, "load_state_dict_from_url", lambda *a, **k: state_dict):
        model = inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[DIMS]])
    return model.eval()


class _LayoutBuilt(Exception):
    pass


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict of the FID Inception's exact layout with random values. Only for
    tests and throughput benchmarks: it proves a real file would load, and feature
    extraction costs the same whatever the values."""
    from pytorch_fid import inception

    def stop_before_loading(*args, **kwargs):
        raise _LayoutBuilt

    torch.manual_seed(seed)
    net = inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    # pytorch-fid's own fid_inception_v3() gives `net` the FID blocks, then stops where
    # it would fetch the weights.
    with mock.patch.object(inception, "_inception_v3", lambda *a, **k: net), \
            mock.patch.object(inception, "load_state_dict_from_url", stop_before_loading), \
            contextlib.suppress(_LayoutBuilt):
        inception.fid_inception_v3()
    return {k: v.clone() for k, v in net.state_dict().items()}


class InceptionExtractor(FeatureExtractor):
    """FID: pool3 features of pytorch-fid's InceptionV3, inputs resized to 299x299."""

    name = "inception"
    fd_name = "fid"
    description = "pytorch-fid InceptionV3 pool3, 2048-d, FID weights"
    batch_size = 50  # pytorch-fid's default

    def __init__(self, expected_sha256: str = WEIGHTS_SHA256) -> None:
        self.expected = expected_sha256
        self._models: dict[tuple[str, str], torch.nn.Module] = {}

    def unavailable(self) -> str | None:
        try:
            weights_lookup(self.expected)
        except (WeightsError, OSError) as exc:
            return str(exc)
        return None

    def fingerprint(self) -> str:
        return f"pytorch-fid-inception-v3|pool3|bilinear-299|{self.expected}"

    def _model(self, device: torch.device) -> torch.nn.Module:
        path = weights_lookup(self.expected)
        key = (str(path), str(device))
        if key not in self._models:
            state = torch.load(path, map_location="cpu", weights_only=True)
            # Channels-last convolutions: 1.5x faster on this CPU (oneDNN), same features.
            self._models[key] = build_model(state).to(device, memory_format=torch.channels_last)
        return self._models[key]

    def extract(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        if images.shape[1] == 1:  # what PIL's convert("RGB") does to a grayscale PNG
            images = images.expand(-1, 3, -1, -1)
        images = images.contiguous(memory_format=torch.channels_last)
        features = self._model(images.device)(images)[0]
        return features.flatten(1), None
