"""What a generator looks like to the host, and what it may declare it needs of its
dataset."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from harness.api.data import Batch, Dataset
from harness.rng import SampleRNG

SsimKind = Literal["paired", "reconstruction", "nearest-real"]
Direction = Literal["min", "max"]


@dataclass(frozen=True)
class Requires:
    """What a generator needs of its dataset, declared as :attr:`Generator.requires`.

    ``genbench run`` checks it when the suite is planned: a dataset that does not fit is
    a usage error (exit 2) naming both, before anything is recorded, instead of an
    exception inside the generator at run time. ``genbench describe`` shows it. An empty
    field means anything goes.
    """

    #: Names of the datasets it works on, e.g. ``("clocks",)``; empty: any dataset.
    datasets: tuple[str, ...] = ()
    #: Image channels it can produce, e.g. ``(1, 3)``; empty: any.
    channels: tuple[int, ...] = ()
    #: Resolutions it can produce; empty: any.
    resolutions: tuple[int, ...] = ()
    #: The resolution must be a multiple of this (4 for two x2 down- or upsamplings).
    resolution_multiple_of: int = 1
    #: The width of the conditions it reads (the clock generator's six time features);
    #: None: any width, though a ``conditional`` generator always needs conditions.
    condition_dim: int | None = None

    def __post_init__(self) -> None:
        # Checked here, so a wrong declaration fails where it is written (the plugin's
        # import, with its file and line), not when a suite is planned.
        for name, kind in (("datasets", str), ("channels", int), ("resolutions", int)):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
                raise TypeError(f"Requires.{name} must be a tuple of {kind.__name__}, such as "
                                f"{('clocks',) if kind is str else (1, 3)!r}, got {value!r}")
        if not isinstance(self.resolution_multiple_of, int) or self.resolution_multiple_of < 1:
            raise ValueError(f"Requires.resolution_multiple_of must be a whole number >= 1, "
                             f"got {self.resolution_multiple_of!r}")
        if self.condition_dim is not None and (not isinstance(self.condition_dim, int) or self.condition_dim < 1):
            raise ValueError(f"Requires.condition_dim must be None or a whole number >= 1, got {self.condition_dim!r}")


class Generator(ABC):
    """Base class of every generator. Subclass it and return the class from
    ``genbench_generators``.

    The host builds it from a dataset, a device and a config, calls :meth:`train_step`
    until the budget is spent, then :meth:`sample` for the metrics.
    """

    #: Registry name, e.g. ``"dcgan"``.
    name: ClassVar[str]
    #: What SSIM means for this generator: ``paired`` (conditional generation against
    #: the ground truth), ``reconstruction`` (autoencoders) or ``nearest-real``.
    ssim_kind: ClassVar[SsimKind] = "nearest-real"
    #: True when :meth:`sample` needs a ``condition`` (e.g. the clock's time).
    conditional: ClassVar[bool] = False
    #: Default hyperparameters; a suite entry's ``config`` table overrides them.
    default_config: ClassVar[dict[str, Any]] = {}
    #: False for a generator that takes no training budget (the baseline rows): the
    #: host skips the training loop and evaluates it as built.
    trains: ClassVar[bool] = True
    #: Config keys that change only how samples are drawn (a sampler, its step count),
    #: not training. A suite entry's ``samplers`` list overrides them to evaluate the same
    #: trained model again, one leaderboard row each, without training again.
    sampling_keys: ClassVar[tuple[str, ...]] = ()
    #: What each key of :attr:`default_config` means, in a line, for ``genbench
    #: describe`` (a key without one is listed with its default only).
    config_help: ClassVar[dict[str, str]] = {}
    #: What it needs of its dataset (names, channels, resolutions, conditions), checked
    #: when a suite is planned; the default takes any dataset.
    requires: ClassVar[Requires] = Requires()

    #: Set by the host before every ``train_step``: the fraction of the budget spent so
    #: far (images seen or wall clock, whichever is further along), for generators that
    #: train in declared stages (e.g. VQ-VAE, then its prior).
    budget_spent: float = 0.0

    def __init__(self, dataset: Dataset, device: torch.device, config: Mapping[str, Any]) -> None:
        unknown = sorted(set(config) - set(self.default_config))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown config key(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(sorted(self.default_config)) or '(none)'}"
            )
        self.dataset, self.device = dataset, device
        self.config: dict[str, Any] = {**self.default_config, **config}

    @property
    def batch_size(self) -> int:
        """Training batch size (config key ``batch_size``, default 64)."""
        return int(self.config.get("batch_size", 64))

    @abstractmethod
    def train_step(self, batch: Batch) -> dict[str, float]:
        """One optimisation step on ``batch``; returns scalar logs (the first is the loss)."""

    @abstractmethod
    def sample(self, n: int, rng: SampleRNG, condition: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` images in [-1, 1], drawn only from ``rng`` (so they are reproducible and
        independent of how a run is split into batches)."""

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Autoencoders: encode and decode ``images``. Others need not implement it."""
        raise NotImplementedError(f"{self.name} does not reconstruct")

    def validation_loss(self, batch: Batch) -> float | None:
        """Loss on held-out data for early stopping; None (the default) disables it."""
        return None

    def modules(self) -> dict[str, torch.nn.Module]:
        """The trainable modules, for parameter counts and train/eval switching."""
        return {k: v for k, v in vars(self).items() if isinstance(v, torch.nn.Module)}

    def train(self, mode: bool = True) -> None:
        """Puts every module of :meth:`modules` in training (or, with False, eval) mode."""
        for module in self.modules().values():
            module.train(mode)

    def parameter_count(self) -> int:
        """Trainable parameters of :meth:`modules` and of parameters held directly."""
        params = [p for m in self.modules().values() for p in m.parameters()]
        params += [v for v in vars(self).values() if isinstance(v, torch.nn.Parameter)]
        return sum(p.numel() for p in {id(p): p for p in params}.values() if p.requires_grad)

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: weights, optimizer state, counters."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what :meth:`state_dict` returned (a resumed run, a sampler variant)."""

    def setting(self) -> str | None:
        """How this row's samples were produced, for the leaderboard's ``setting`` column
        (e.g. ``"DDIM-50"``, or a staged generator's budget shares); None (the default)
        leaves it empty."""
        return None

    def extra_metrics(self) -> dict[str, float | tuple[float, Direction]]:
        """Generator-specific numbers for the leaderboard (e.g. bits/dim), each a value
        (higher is better) or ``(value, "min")`` for lower is better; default none."""
        return {}
