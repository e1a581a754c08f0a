"""Whether a dataset fits what a generator declares it needs (``Generator.requires``),
checked when a suite is planned so that a mismatch is refused before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from harness.api import Dataset, Generator


@dataclass(frozen=True)
class DatasetShape:
    """What the requirements look at, kept instead of the dataset itself so that planning
    holds no dataset's images for longer than it takes to build them."""

    name: str
    resolution: int
    channels: int
    condition_dim: int | None

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetShape:
        return cls(dataset.name, dataset.resolution, dataset.channels, dataset.condition_dim)


def mismatch(generator: type[Generator], dataset: DatasetShape, dataset_name: str) -> str | None:
    """Why ``generator`` cannot run on ``dataset`` (``dataset_name`` as the suite names
    it), or None when it can."""
    needs = generator.requires
    name = generator.name
    if needs.datasets and dataset_name not in needs.datasets and dataset.name not in needs.datasets:
        return f"generator {name!r} runs only on {_either(needs.datasets)}, not {dataset_name!r}"
    if generator.conditional and dataset.condition_dim is None:
        return (f"generator {name!r} is conditional and dataset {dataset_name!r} has no conditions "
                "(its condition_dim is None)")
    if needs.condition_dim is not None and dataset.condition_dim != needs.condition_dim:
        return (f"generator {name!r} reads conditions of width {needs.condition_dim}, and dataset "
                f"{dataset_name!r} has {'none' if dataset.condition_dim is None else dataset.condition_dim}")
    if needs.channels and dataset.channels not in needs.channels:
        return (f"generator {name!r} makes images of {_either(needs.channels)} channel(s), and dataset "
                f"{dataset_name!r} has {dataset.channels} (set its channels option)")
    if needs.resolutions and dataset.resolution not in needs.resolutions:
        return (f"generator {name!r} makes images at a resolution of {_either(needs.resolutions)}, and dataset "
                f"{dataset_name!r} is {dataset.resolution}x{dataset.resolution} (set its resolution option)")
    if dataset.resolution % needs.resolution_multiple_of:
        return (f"generator {name!r} needs a resolution divisible by {needs.resolution_multiple_of}, and dataset "
                f"{dataset_name!r} is {dataset.resolution}x{dataset.resolution} (set its resolution option)")
    return None


def _either(values: tuple) -> str:
    text = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} or {text[-1]}"
