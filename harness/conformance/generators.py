"""The checks of a generator class: it builds from a dataset, a device and a config,
takes a training step, and samples images of the dataset's shape in [-1, 1] that depend
only on the seed (not on the batch size), and survive the state_dict round trip.

Checks, in order (a baseline, ``trains = False``, takes no training step; only an
autoencoder, ``ssim_kind = "reconstruction"``, is asked to reconstruct):

- build from a dataset, a device and a config (required: the rest need the instance)
- one training step returns finite scalar logs
- sample shape is (N, C, H, W) and values lie in [-1, 1]
- same seed, same samples
- samples do not depend on the batch size
- state_dict round trip gives identical samples
- reconstruct returns images of the input's shape
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from harness.api import Dataset, Generator
from harness.conformance.common import CheckResult, _Check, default_dataset, raise_failures, run_checks
from harness.rng import SampleRNG

N = 4


@dataclass
class _Subject:
    """The generator class under test, what it is built from, and (once built) the instance."""

    cls: type[Generator]
    dataset: Dataset
    device: torch.device
    config: dict
    gen: Generator = field(init=False)

    def build(self, seed: int) -> Generator:
        torch.manual_seed(seed)
        return self.cls(self.dataset, self.device, self.config)

    def sample(self, seed: int, offset: int, n: int, gen: Generator | None = None) -> torch.Tensor:
        """Samples ``offset .. offset + n - 1`` of a run with ``seed``, in eval mode as the host draws them."""
        gen = self.gen if gen is None else gen
        gen.train(False)
        cond = _conditions(gen, self.dataset, offset + n)
        cond = None if cond is None else cond[offset:offset + n]
        with torch.no_grad():
            return gen.sample(n, SampleRNG(seed, offset, n, gen.device), cond).float().cpu()

    @property
    def expected_shape(self) -> tuple[int, int, int, int]:
        return (N, self.dataset.channels, self.dataset.resolution, self.dataset.resolution)


def _conditions(gen: Generator, dataset: Dataset, n: int) -> torch.Tensor | None:
    if not gen.conditional:
        return None
    return dataset.test.get(torch.arange(n)).conditions.to(gen.device)


# Each check returns None when it passes, otherwise what is wrong.

def _build(s: _Subject) -> str | None:
    if not (isinstance(s.cls, type) and issubclass(s.cls, Generator)):
        return f"{s.cls!r} is not a subclass of harness.Generator"
    if not isinstance(getattr(s.cls, "name", None), str):
        return "the class has no string attribute 'name'"
    s.gen = s.build(seed=0)
    return None


def _train_step(s: _Subject) -> str | None:
    s.gen.train()
    batch = s.dataset.train.get(torch.arange(min(s.gen.batch_size, 8))).to(s.device)
    logs = s.gen.train_step(batch)
    if not isinstance(logs, dict) or not logs:
        return f"train_step must return a non-empty dict of scalar logs, got {logs!r}"
    bad = {k: v for k, v in logs.items() if not isinstance(v, float | int) or not math.isfinite(v)}
    return f"non-finite or non-scalar logs: {bad}" if bad else None


def _shape_and_range(s: _Subject) -> str | None:
    x = s.sample(1, 0, N)
    if tuple(x.shape) != s.expected_shape:
        return f"sample({N}) has shape {tuple(x.shape)}, expected {s.expected_shape} (N, C, H, W)"
    if not torch.isfinite(x).all():
        return "samples contain NaN or inf"
    if x.min() < -1 - 1e-6 or x.max() > 1 + 1e-6:
        return f"samples must lie in [-1, 1], got [{x.min():.3f}, {x.max():.3f}]"
    return None


def _determinism(s: _Subject) -> str | None:
    a, b = s.sample(7, 0, N), s.sample(7, 0, N)
    return None if torch.equal(a, b) else f"two draws with one seed differ by {(a - b).abs().max():.3g}"


def _batch_independence(s: _Subject) -> str | None:
    whole = s.sample(11, 0, N)
    parts = torch.cat([s.sample(11, 0, N // 2), s.sample(11, N // 2, N - N // 2)])
    diff = (whole - parts).abs().max().item()
    return None if diff <= 1e-5 else (
        f"samples depend on the batch size (max difference {diff:.3g}); draw all randomness "
        "from the SampleRNG passed to sample()")


def _round_trip(s: _Subject) -> str | None:
    before = s.sample(3, 0, N)
    # A different seed, so that matching samples come from the loaded state, not the init.
    other = s.build(seed=123)
    other.load_state_dict(s.gen.state_dict())
    after = s.sample(3, 0, N, gen=other)
    diff = (before - after).abs().max().item()
    return None if diff <= 1e-6 else f"a fresh instance loaded from state_dict() samples differently ({diff:.3g})"


def _reconstruct(s: _Subject) -> str | None:
    x = s.dataset.test.get(torch.arange(N)).images.to(s.device)
    with torch.no_grad():
        y = s.gen.reconstruct(x)
    return None if tuple(y.shape) == tuple(x.shape) else f"reconstruct changed shape to {tuple(y.shape)}"


_CHECKS: tuple[_Check[_Subject], ...] = (
    _Check("build from a dataset, a device and a config", _build, required=True),
    # A baseline (trains = False) is evaluated as built.
    _Check("one training step returns finite scalar logs", _train_step, applies=lambda s: s.cls.trains),
    _Check("sample shape is (N, C, H, W) and values lie in [-1, 1]", _shape_and_range),
    _Check("same seed, same samples", _determinism),
    _Check("samples do not depend on the batch size", _batch_independence),
    _Check("state_dict round trip gives identical samples", _round_trip),
    _Check("reconstruct returns images of the input's shape", _reconstruct,
           applies=lambda s: s.cls.ssim_kind == "reconstruction"),
)


def check_generator(cls: type[Generator], dataset: Dataset, device: torch.device | None = None,
                    config: dict | None = None) -> list[CheckResult]:
    """Runs every check on ``cls``; later checks are left out when building fails."""
    subject = _Subject(cls, dataset, device or torch.device("cpu"), config or {})
    return run_checks(getattr(cls, "name", cls.__name__), _CHECKS, subject)


def assert_conforms(cls: type[Generator], dataset: Dataset | None = None,
                    config: dict | None = None) -> None:
    """A pytest helper for plugin authors: fails with every failing check listed
    (``dataset`` defaults to the built-in clocks)."""
    results = check_generator(cls, default_dataset() if dataset is None else dataset, config=config)
    raise_failures(getattr(cls, "name", cls), results)
