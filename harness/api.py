"""The plugin API: what a generator, a dataset, a metric and a reporter look like.

A plugin returns these objects from its hook implementations (see hookspecs.py).
Images cross the API as float tensors in [-1, 1], NCHW.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from harness.metric_kinds import MetricKind
from harness.rng import SampleRNG

SsimKind = Literal["paired", "reconstruction", "nearest-real"]
Direction = Literal["min", "max"]


@dataclass
class Batch:
    """A batch of training data: images in [-1, 1] plus optional conditions and labels."""

    images: torch.Tensor
    conditions: torch.Tensor | None = None
    labels: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Batch(move(self.images), move(self.conditions), move(self.labels))


class DataSplit(ABC):
    """One split (train, val or test) of a dataset; indexable by a tensor of indices."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def get(self, indices: torch.Tensor) -> Batch:
        """The batch at ``indices`` (int64, CPU)."""


class TensorSplit(DataSplit):
    """A split held in memory as tensors."""

    def __init__(self, images: torch.Tensor, conditions=None, labels=None) -> None:
        self.images, self.conditions, self.labels = images, conditions, labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def get(self, indices: torch.Tensor) -> Batch:
        pick = lambda t: None if t is None else t[indices]  # noqa: E731
        return Batch(self.images[indices], pick(self.conditions), pick(self.labels))


@dataclass
class Dataset:
    """A materialized dataset: its shape, splits and how to describe it."""

    name: str
    resolution: int
    channels: int
    train: DataSplit
    val: DataSplit
    test: DataSplit
    num_classes: int | None = None
    condition_dim: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Ground truth for a condition, for tasks that have one (clocks: the true rendering).
    render: Callable[[torch.Tensor], torch.Tensor] | None = None
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset a plugin offers: a name, its options with defaults, and a builder.

    ``build(seed=..., **options)`` returns a :class:`Dataset`; the split is fixed by seed.
    """

    name: str
    build: Callable[..., Dataset]
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)


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
    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def setting(self) -> str | None:
        """How this row's samples were produced, for the leaderboard's ``setting`` column
        (e.g. ``"DDIM-50"``, or a staged generator's budget shares); None (the default)
        leaves it empty."""
        return None

    def extra_metrics(self) -> dict[str, float | tuple[float, Direction]]:
        """Generator-specific numbers for the leaderboard (e.g. bits/dim), each a value
        (higher is better) or ``(value, "min")`` for lower is better; default none."""
        return {}


@dataclass
class EvalContext:
    """What a metric sees at evaluation time."""

    generator: Generator
    dataset: Dataset
    samples: torch.Tensor  # (N, C, H, W) in [-1, 1], drawn with the budget's seed
    conditions: torch.Tensor | None  # the test conditions the samples were drawn for
    device: torch.device
    seed: int
    real: Batch  # the test items: ground truth of conditional samples, reference set
    # Where real-data features are cached across runs (None: not cached).
    cache_dir: Path | None = None
    # Shared by the metrics of one evaluation, so FD, KID and mode coverage in one
    # feature space extract the samples' features once.
    memo: dict[Any, Any] = field(default_factory=dict)


@dataclass
class MetricResult:
    """A metric's value, or why it is unavailable (never silently replaced)."""

    value: float | None
    details: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None


class Metric(ABC):
    """A quality metric offered through ``genbench_metrics``."""

    #: Column id, e.g. ``"ssim"`` or ``"fd-clocknet"``.
    name: ClassVar[str]
    #: ``"max"`` if higher is better, ``"min"`` if lower is better.
    direction: ClassVar[Direction]
    #: What it measures (see ``MetricKind``); the leaderboard orders and ranks by it.
    kind: ClassVar[MetricKind] = "other"
    description: ClassVar[str] = ""

    def applies_to(self, generator: Generator, dataset: Dataset) -> bool:
        return True

    @abstractmethod
    def compute(self, ctx: EvalContext) -> MetricResult: ...


class FeatureExtractor(ABC):
    """A network whose features define a Fréchet distance and a KID, offered through
    ``genbench_feature_extractors``.

    The host turns each extractor into metric columns: ``fd_name`` (default
    ``fd-<name>``) and ``kid-<name>``, and, when it classifies (``num_classes`` set),
    ``modes-<name>`` and ``mode-kl-<name>`` for mode coverage. Images reach
    :meth:`extract` quantized to 8 bits, as if saved as PNG and read back.
    """

    #: Short id, e.g. ``"clocknet"``.
    name: ClassVar[str]
    #: The FD column's name; default ``fd-<name>``.
    fd_name: ClassVar[str | None] = None
    description: ClassVar[str] = ""
    #: Set for a classifier: the number of classes :meth:`extract` assigns.
    num_classes: ClassVar[int | None] = None
    #: Images per forward pass.
    batch_size: ClassVar[int] = 128

    @property
    def fd_column(self) -> str:
        return self.fd_name or f"fd-{self.name}"

    def applies_to(self, dataset: Dataset) -> bool:
        """Whether the features mean something on ``dataset`` (default: always)."""
        return True

    def unavailable(self) -> str | None:
        """Why the extractor cannot run here (e.g. missing weights), or None."""
        return None

    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies the weights and the preprocessing: part of the cache key of the
        real-data features, so that changing either invalidates them."""

    @abstractmethod
    def extract(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features (B, D) of ``images`` (B, C, H, W), float in [0, 1] on the device to
        run on, and the class of each image (B,) int64 for a classifier, else None."""


class Reporter(ABC):
    """An output format for leaderboards, offered through ``genbench_reporters``."""

    #: Format name for ``--format`` and the file extension, e.g. ``"md"``.
    name: ClassVar[str]

    @abstractmethod
    def render(self, table: Any) -> str:
        """Render a :class:`harness.leaderboard.Leaderboard` to text."""
