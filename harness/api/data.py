"""The data a generator trains on: a dataset's splits, its batches, and the spec a
plugin offers a dataset by. Images are float tensors in [-1, 1], NCHW."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Batch:
    """A batch of training data: images in [-1, 1] plus optional conditions and labels."""

    #: (N, C, H, W) float images in [-1, 1].
    images: torch.Tensor
    #: (N, ``condition_dim``) float: what a conditional generator generates from (for
    #: clocks, the sin and cos of the hand angles); None for unconditional data.
    conditions: torch.Tensor | None = None
    #: (N,) int64: each item's class (digits: 0-9) or other ground truth (clocks: the
    #: time in seconds); None where the data has none.
    labels: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        """The same batch with every tensor on ``device``."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Batch(move(self.images), move(self.conditions), move(self.labels))


class DataSplit(ABC):
    """One split (train, val or test) of a dataset; indexable by a tensor of indices.

    Subclass it to produce items on demand (the clocks dataset renders each batch from
    its times); :class:`TensorSplit` holds a split in memory. The host draws training
    batches with :meth:`get` and takes the first items of ``test`` as the reference set,
    so keep a split in a seeded random order.
    """

    @abstractmethod
    def __len__(self) -> int:
        """The number of items in the split."""

    @abstractmethod
    def get(self, indices: torch.Tensor) -> Batch:
        """The batch at ``indices`` (int64, CPU)."""


class TensorSplit(DataSplit):
    """A split held in memory as tensors: ``images`` (N, C, H, W) in [-1, 1], and
    optionally ``conditions`` and ``labels`` with the same first dimension (see
    :class:`Batch`)."""

    def __init__(self, images: torch.Tensor, conditions=None, labels=None) -> None:
        self.images, self.conditions, self.labels = images, conditions, labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def get(self, indices: torch.Tensor) -> Batch:
        pick = lambda t: None if t is None else t[indices]  # noqa: E731
        return Batch(self.images[indices], pick(self.conditions), pick(self.labels))


@dataclass
class Dataset:
    """A materialized dataset: its shape, splits and how to describe it.

    What a :class:`DatasetSpec`'s ``build`` returns, and what a generator is built
    from and a metric sees (:attr:`EvalContext.dataset`).
    """

    #: The dataset's name, as its :class:`DatasetSpec` names it.
    name: str
    #: Image height and width: images are square, (C, resolution, resolution).
    resolution: int
    #: Image channels: 1 (grayscale) or 3 (RGB).
    channels: int
    #: What the generator trains on.
    train: DataSplit
    #: Held out for early stopping (:meth:`Generator.validation_loss`).
    val: DataSplit
    #: Held out for the metrics: its first items are the reference set, and the
    #: ground truth of conditional samples.
    test: DataSplit
    #: The number of classes of :attr:`Batch.labels`, for a labelled dataset.
    num_classes: int | None = None
    #: The width of :attr:`Batch.conditions`, for a conditional dataset (clocks: 6).
    condition_dim: int | None = None
    #: The options it was built with, ``split_seed`` (the ``seed`` given to ``build``)
    #: included, e.g. ``{"resolution": 32, "channels": 1, "split_seed": 0}``.
    options: dict[str, Any] = field(default_factory=dict)
    #: Ground truth for tasks that have one: the true images (N, C, H, W) in [-1, 1] for
    #: a tensor of labels (clocks: times in seconds, as in :attr:`Batch.labels`).
    render: Callable[[torch.Tensor], torch.Tensor] | None = None
    #: A one-line description of the data.
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset a plugin offers: a name, its options with defaults, and a builder.

    ``build(seed=..., **options)`` returns a :class:`Dataset`; the split is fixed by seed.
    ``seed`` is the dataset option ``split_seed`` (default 0), not the run's seed, so
    runs with different seeds share one split. ``options`` are :attr:`defaults` updated
    with a suite entry's ``dataset_options``: always every key of :attr:`defaults` and
    no other, each value of its default's type unless the default is None (checked
    before ``build`` is called). An exception ``build`` raises for options it refuses
    is shown to the user, with the options, as a usage error.
    """

    #: The name suite entries use; ``plugin:name`` where two plugins offer it.
    name: str
    #: ``build(seed=..., **options)``: builds the :class:`Dataset`.
    build: Callable[..., Dataset]
    #: A one-line description of the dataset.
    description: str = ""
    #: Every option ``build`` takes besides ``seed``, with its default.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: The metric that ranks this dataset's leaderboards (a column name such as
    #: ``"fd-clocknet"``); a suite's ``rank_by`` or ``--rank-by`` overrides it. Each run
    #: records it when it is planned, so installing a plugin later changes no ranking.
    rank_by: str = "fid"
