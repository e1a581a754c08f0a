"""What a metric sees and returns, and the feature extractors the host turns into FD,
KID and mode-coverage columns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from harness.api.data import Batch, Dataset
from harness.api.generator import Direction, Generator
from harness.metric_kinds import MetricKind


@dataclass
class EvalContext:
    """What a metric sees at evaluation time."""

    #: The trained generator, in eval mode.
    generator: Generator
    #: The dataset it was trained on.
    dataset: Dataset
    samples: torch.Tensor  #: (N, C, H, W) in [-1, 1], drawn with the budget's seed
    conditions: torch.Tensor | None  #: the test conditions the samples were drawn for
    #: The device the generator runs on.
    device: torch.device
    #: The run's seed; the samples' randomness derives from it.
    seed: int
    real: Batch  #: the test items: ground truth of conditional samples, reference set
    #: Where real-data features are cached across runs (None: not cached).
    cache_dir: Path | None = None
    #: Shared by the metrics of one evaluation, so FD, KID and mode coverage in one
    #: feature space extract the samples' features once.
    memo: dict[Any, Any] = field(default_factory=dict)


@dataclass
class MetricResult:
    """A metric's value, or why it is unavailable (never silently replaced)."""

    #: The value; None when the metric is unavailable.
    value: float | None
    #: Recorded with the value. The host reads ``n``: the number of samples it was
    #: computed from (default: all of them).
    details: dict[str, Any] = field(default_factory=dict)
    #: Why there is no value (e.g. missing weights), shown in the leaderboard's footnotes.
    unavailable: str | None = None


class Metric(ABC):
    """A quality metric offered through ``genbench_metrics``."""

    #: Column id, e.g. ``"ssim"`` or ``"fd-clocknet"``.
    name: ClassVar[str]
    #: ``"max"`` if higher is better, ``"min"`` if lower is better.
    direction: ClassVar[Direction]
    #: What it measures (see ``MetricKind``); the leaderboard orders and ranks by it.
    kind: ClassVar[MetricKind] = "other"
    #: What it measures, in one line.
    description: ClassVar[str] = ""

    def applies_to(self, generator: Generator, dataset: Dataset) -> bool:
        """Whether to compute it for this generator and dataset (default: always); a
        metric that does not apply is not computed or recorded for the run."""
        return True

    @abstractmethod
    def compute(self, ctx: EvalContext) -> MetricResult:
        """The metric on ``ctx.samples``. An exception it raises is recorded as the
        metric being unavailable, without losing the run."""


class FeatureExtractor(ABC):
    """A network whose features define a Fréchet distance and a KID, offered through
    ``genbench_feature_extractors``.

    The host turns each extractor into metric columns: ``fd_name`` (default
    ``fd-<name>``), its FD∞ ``<fd_name>-inf`` and ``kid-<name>``, and, when it
    classifies (``num_classes`` set),
    ``modes-<name>`` and ``mode-kl-<name>`` for mode coverage. Images reach
    :meth:`extract` quantized to 8 bits, as if saved as PNG and read back.
    """

    #: Short id, e.g. ``"clocknet"``.
    name: ClassVar[str]
    #: The FD column's name; default ``fd-<name>``.
    fd_name: ClassVar[str | None] = None
    #: What the network is, in one line (part of the FD column's description).
    description: ClassVar[str] = ""
    #: Set for a classifier: the number of classes :meth:`extract` assigns.
    num_classes: ClassVar[int | None] = None
    #: The feature dimension D of :meth:`extract`, when it is fixed: declared, the
    #: conformance check holds the features to it; None leaves it undeclared.
    feature_dim: ClassVar[int | None] = None
    #: Images per forward pass.
    batch_size: ClassVar[int] = 128

    @property
    def fd_column(self) -> str:
        """The FD column's name: :attr:`fd_name`, or ``fd-<name>``."""
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
