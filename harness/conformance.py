"""The conformance check a plugin author runs on their generators:
``genbench check-plugin NAME``, or ``assert_conforms(MyGenerator)`` in their own tests.

It builds each generator, takes a training step, and checks sample shape, range,
determinism, batch-size independence and the state_dict round trip, saying exactly
what fails.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import torch

from harness.api import Dataset, Generator
from harness.rng import SampleRNG

N = 4


@dataclass
class CheckResult:
    generator: str
    check: str
    ok: bool
    message: str = ""


def _conditions(gen: Generator, dataset: Dataset, n: int) -> torch.Tensor | None:
    if not gen.conditional:
        return None
    return dataset.test.get(torch.arange(n)).conditions.to(gen.device)


def _sample(gen: Generator, dataset: Dataset, seed: int, offset: int, n: int) -> torch.Tensor:
    cond = _conditions(gen, dataset, offset + n)
    cond = None if cond is None else cond[offset:offset + n]
    with torch.no_grad():
        return gen.sample(n, SampleRNG(seed, offset, n, gen.device), cond).float().cpu()


def check_generator(cls: type[Generator], dataset: Dataset, device: torch.device | None = None,
                    config: dict | None = None) -> list[CheckResult]:
    """Runs every check on ``cls``; later checks are skipped when building fails."""
    device = device or torch.device("cpu")
    results: list[CheckResult] = []
    name = getattr(cls, "name", cls.__name__)

    def check(label: str, fn: Callable[[], str | None]) -> bool:
        try:
            problem = fn()
        except Exception as exc:
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            problem = f"raised {type(exc).__name__}: {exc} ({tb.filename}:{tb.lineno})"
        results.append(CheckResult(name, label, problem is None, problem or ""))
        return problem is None

    state: dict = {}

    def build() -> str | None:
        if not (isinstance(cls, type) and issubclass(cls, Generator)):
            return f"{cls!r} is not a subclass of harness.Generator"
        if not isinstance(getattr(cls, "name", None), str):
            return "the class has no string attribute 'name'"
        torch.manual_seed(0)
        state["gen"] = cls(dataset, device, config or {})
        return None

    if not check("build from a dataset, a device and a config", build):
        return results
    gen: Generator = state["gen"]

    def train_step() -> str | None:
        for m in gen.modules().values():
            m.train()
        batch = dataset.train.get(torch.arange(min(gen.batch_size, 8))).to(device)
        logs = gen.train_step(batch)
        if not isinstance(logs, dict) or not logs:
            return f"train_step must return a non-empty dict of scalar logs, got {logs!r}"
        bad = {k: v for k, v in logs.items() if not isinstance(v, float | int) or not math.isfinite(v)}
        return f"non-finite or non-scalar logs: {bad}" if bad else None

    if cls.trains:  # a baseline (trains = False) is evaluated as built
        check("one training step returns finite scalar logs", train_step)
    for m in gen.modules().values():
        m.eval()
    expected = (N, dataset.channels, dataset.resolution, dataset.resolution)

    def shape_and_range() -> str | None:
        x = _sample(gen, dataset, 1, 0, N)
        if tuple(x.shape) != expected:
            return f"sample({N}) has shape {tuple(x.shape)}, expected {expected} (N, C, H, W)"
        if not torch.isfinite(x).all():
            return "samples contain NaN or inf"
        if x.min() < -1 - 1e-6 or x.max() > 1 + 1e-6:
            return f"samples must lie in [-1, 1], got [{x.min():.3f}, {x.max():.3f}]"
        return None

    check("sample shape is (N, C, H, W) and values lie in [-1, 1]", shape_and_range)

    def determinism() -> str | None:
        a, b = _sample(gen, dataset, 7, 0, N), _sample(gen, dataset, 7, 0, N)
        return None if torch.equal(a, b) else f"two draws with one seed differ by {(a - b).abs().max():.3g}"

    check("same seed, same samples", determinism)

    def batch_independence() -> str | None:
        whole = _sample(gen, dataset, 11, 0, N)
        parts = torch.cat([_sample(gen, dataset, 11, 0, N // 2), _sample(gen, dataset, 11, N // 2, N - N // 2)])
        diff = (whole - parts).abs().max().item()
        return None if diff <= 1e-5 else (
            f"samples depend on the batch size (max difference {diff:.3g}); draw all randomness "
            "from the SampleRNG passed to sample()")

    check("samples do not depend on the batch size", batch_independence)

    def round_trip() -> str | None:
        before = _sample(gen, dataset, 3, 0, N)
        torch.manual_seed(123)
        other = cls(dataset, device, config or {})
        other.load_state_dict(gen.state_dict())
        for m in other.modules().values():
            m.eval()
        after = _sample(other, dataset, 3, 0, N)
        diff = (before - after).abs().max().item()
        return None if diff <= 1e-6 else f"a fresh instance loaded from state_dict() samples differently ({diff:.3g})"

    check("state_dict round trip gives identical samples", round_trip)
    if gen.ssim_kind == "reconstruction":

        def reconstruct() -> str | None:
            x = dataset.test.get(torch.arange(N)).images.to(device)
            with torch.no_grad():
                y = gen.reconstruct(x)
            return None if tuple(y.shape) == tuple(x.shape) else f"reconstruct changed shape to {tuple(y.shape)}"

        check("reconstruct returns images of the input's shape", reconstruct)
    return results


def assert_conforms(cls: type[Generator], dataset: Dataset | None = None,
                    config: dict | None = None) -> None:
    """A pytest helper for plugin authors: fails with every failing check listed."""
    if dataset is None:
        from harness.datasets import clocks

        dataset = clocks.build()
    failures = [r for r in check_generator(cls, dataset, config=config) if not r.ok]
    if failures:
        lines = "\n".join(f"- {r.check}: {r.message}" for r in failures)
        raise AssertionError(f"{getattr(cls, 'name', cls)} fails the genbench conformance check:\n{lines}")
