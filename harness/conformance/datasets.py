"""The checks of a dataset a plugin offers (a :class:`harness.DatasetSpec`): it builds,
its splits yield images of the declared shape in [-1, 1], no test image is also a
training or validation image, the seed fixes the splits, and conditions and labels agree
with what the dataset declares.

The spec is built with ``seed=0`` and its defaults, overridden by the options given.
A dataset that raises a :class:`harness.errors.UsageError` when built (a file dataset
whose files are not here) is skipped with that message, not failed.

Checks, in order:

- ``build(seed, **options)`` returns a harness.Dataset (required)
- train, val and test are non-empty DataSplits (required)
- each split yields float images (n, C, H, W) of the declared resolution and channels
- image values are finite and lie in [-1, 1]
- no image is in both train and test, or in both val and test
- the same seed gives the same splits, bit for bit
- conditions and labels are consistent
- render(labels) gives images of the declared shape in [-1, 1] (only a dataset with ``render``)

The value, overlap and same-seed checks read at most 512 items of each split (its first
and last 256), so that the check stays fast on large datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from harness.api import Batch, Dataset, DatasetSpec, DataSplit
from harness.conformance.common import CheckResult, Skip, _Check, raise_failures, run_checks
from harness.conformance.splits import CHUNK, Scan, read_split
from harness.errors import UsageError

SEED = 0
SPLITS = ("train", "val", "test")
FEW = 4  # items per split whose shape and dtype are checked
TOLERANCE = 1e-6


@dataclass
class _Subject:
    """The spec under test, its options, and (once built) the dataset and what was read
    of each split."""

    spec: DatasetSpec
    options: dict[str, Any]
    dataset: Dataset = field(init=False)
    scans: dict[str, Scan] = field(default_factory=dict)

    def build(self) -> Dataset:
        return self.spec.build(seed=SEED, **self.options)

    def scan(self, split: str) -> Scan:
        if split not in self.scans:
            self.scans[split] = read_split(getattr(self.dataset, split))
        return self.scans[split]


# Each check returns None when it passes, otherwise what is wrong.

def _build(s: _Subject) -> str | None:
    if not isinstance(s.spec, DatasetSpec):
        return f"{s.spec!r} is not a harness.DatasetSpec"
    try:
        dataset = s.build()
    except UsageError as exc:
        raise Skip(f"cannot be built here: {exc}") from exc
    if not isinstance(dataset, Dataset):
        return f"build returned a {type(dataset).__name__}, not a harness.Dataset"
    bad = [f"{k} = {getattr(dataset, k)!r}" for k in ("resolution", "channels")
           if not isinstance(getattr(dataset, k), int) or getattr(dataset, k) < 1]
    if bad:
        return f"the dataset declares {' and '.join(bad)}, expected a positive int"
    s.dataset = dataset
    return None


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _by_split(problems: list[tuple[str, str]]) -> str | None:
    """(split, problem) pairs as one message, naming a problem several splits share once."""
    splits: dict[str, list[str]] = {}
    for split, problem in problems:
        splits.setdefault(problem, []).append(split)
    return "; ".join(f"{_and(names)}: {problem}" for problem, names in splits.items()) or None


def _non_empty(s: _Subject) -> str | None:
    problems = []
    for split in SPLITS:
        part = getattr(s.dataset, split)
        if not isinstance(part, DataSplit):
            problems.append((split, f"a {type(part).__name__}, not a harness.DataSplit"))
        elif len(part) == 0:
            problems.append((split, "empty"))
    return _by_split(problems)


def _shape_problem(d: Dataset, batch: object, n: int) -> str | None:
    where = f"get(items 0-{n - 1})"
    images = getattr(batch, "images", None)
    expected = (n, d.channels, d.resolution, d.resolution)
    if not isinstance(batch, Batch):
        return f"{where} returned a {type(batch).__name__}, not a harness.Batch"
    if not isinstance(images, torch.Tensor):
        return f"{where} has images of type {type(images).__name__}, not a torch.Tensor"
    if tuple(images.shape) != expected:
        return (f"{where} has images of shape {tuple(images.shape)}, expected {expected} (n, C, H, W) for the "
                f"declared resolution {d.resolution} and channels {d.channels}")
    if not images.is_floating_point():
        return f"{where} has {images.dtype} images, expected a float dtype"
    return None


def _shapes(s: _Subject) -> str | None:
    problems = []
    for split in SPLITS:
        n = min(FEW, len(getattr(s.dataset, split)))
        problem = _shape_problem(s.dataset, getattr(s.dataset, split).get(torch.arange(n)), n)
        if problem:
            problems.append((split, problem))
    return _by_split(problems)


def _range_hint(low: float, high: float) -> str:
    if low >= 0 and high <= 1:
        return ": looks like [0, 1]: map to [-1, 1] with x * 2 - 1"
    if low >= 0 and high <= 255:
        return ": looks like [0, 255]: map to [-1, 1] with x / 127.5 - 1"
    return ""


def _values(s: _Subject) -> str | None:
    problems = []
    for split in SPLITS:
        scan = s.scan(split)
        if scan.nonfinite is not None:
            problems.append((split, f"item {scan.nonfinite} has NaN or inf values"))
        elif scan.low < -1 - TOLERANCE or scan.high > 1 + TOLERANCE:
            problems.append((split, f"values must lie in [-1, 1], got [{scan.low:.4g}, {scan.high:.4g}]"
                             + _range_hint(scan.low, scan.high)))
        elif scan.low >= 0:
            # In range, but not one pixel below mid-grey in all the items read: [0, 1]
            # data, which the metrics would read as washed out, and still score.
            problems.append((split, f"all values of the {len(scan.indices)} items read lie in "
                                    f"[{scan.low:.4g}, {scan.high:.4g}]" + _range_hint(scan.low, scan.high)))
    return _by_split(problems)


def _disjoint(s: _Subject) -> str | None:
    # Exact equality of the images as the split yields them. The built-in clocks (43,200
    # distinct times) and digits have no two identical images at all, at any resolution,
    # so an image in two splits is a split bug; a file dataset whose official test set
    # repeated a training image would be reported too, which is what a benchmark wants to
    # know (a generator that memorises would be rewarded).
    problems = []
    test = s.scan("test")
    where_in_test = dict(zip(reversed(test.images), reversed(test.indices), strict=True))
    for split in ("train", "val"):
        scan = s.scan(split)
        shared = [(i, where_in_test[h]) for i, h in zip(scan.indices, scan.images, strict=True)
                  if h in where_in_test]
        if shared:
            i, j = shared[0]
            problems.append(f"{split} item {i} and test item {j} are the same image ({len(shared)} of the "
                            f"{len(scan.indices)} {split} items read are also in the {len(test.indices)} test "
                            "items read)")
    return "; ".join(problems) or None


def _same_seed(s: _Subject) -> str | None:
    again = s.build()
    d = s.dataset
    declared = ("resolution", "channels", "num_classes", "condition_dim")
    changed = [f"{k} {getattr(d, k)!r} then {getattr(again, k)!r}" for k in declared
               if getattr(d, k) != getattr(again, k)]
    if changed:
        return f"a second build with seed {SEED} declares {', '.join(changed)}"
    for split in SPLITS:
        first, second = len(getattr(d, split)), len(getattr(again, split))
        if first != second:
            return f"a second build with seed {SEED} has {second} {split} items, the first {first}"
        scan, rescan = s.scan(split), read_split(getattr(again, split))
        differ = [i for i, a, b in zip(scan.indices, scan.items, rescan.items, strict=True) if a != b]
        if differ:
            return (f"a second build with seed {SEED} gives other {split} items: {len(differ)} of the "
                    f"{len(scan.indices)} read differ in image, conditions or label, the first item {differ[0]}; "
                    "draw the split only from the seed (e.g. torch.Generator().manual_seed(seed))")
    return None


def _batch_problem(d: Dataset, batch: Batch, indices: list[int]) -> str | None:
    """What is wrong with the conditions and labels of the items at ``indices``."""
    c, y, n = batch.conditions, batch.labels, len(indices)
    if c is not None and (c.ndim != 2 or c.shape[0] != n):
        return (f"conditions of items {indices[0]}-{indices[-1]} have shape {tuple(c.shape)}, expected "
                f"({n}, condition_dim)")
    if c is not None and c.shape[1] != d.condition_dim:
        return f"conditions have dimension {c.shape[1]}, but condition_dim is {d.condition_dim}"
    if y is None:
        return None
    if tuple(y.shape) != (n,):
        return f"labels of items {indices[0]}-{indices[-1]} have shape {tuple(y.shape)}, expected ({n},)"
    if d.num_classes is None:
        return None
    if y.dtype != torch.int64:
        return f"labels are {y.dtype}, expected torch.int64 (num_classes is set)"
    outside = ((y < 0) | (y >= d.num_classes)).nonzero().flatten().tolist()
    if outside:
        return (f"label {int(y[outside[0]])} of item {indices[outside[0]]} is outside [0, {d.num_classes}) "
                f"(num_classes is {d.num_classes})")
    return None


def _conditions_and_labels(s: _Subject) -> str | None:
    d = s.dataset
    problems = []
    for what in ("conditions", "labels"):
        present = {split: {getattr(b, what) is not None for b in s.scan(split).batches} for split in SPLITS}
        mixed = [split for split, seen in present.items() if len(seen) > 1]
        has = [split for split, seen in present.items() if seen == {True}]
        if mixed:
            problems.append(f"{_and(mixed)}: some batches have {what}, others not")
        elif has and len(has) < len(SPLITS):
            lacking = [split for split in SPLITS if split not in has]
            problems.append(f"{_and(has)} have {what}, {_and(lacking)} not: every split or none")
    batches = [b for split in SPLITS for b in s.scan(split).batches]
    if d.condition_dim is not None and all(b.conditions is None for b in batches):
        problems.append(f"condition_dim is {d.condition_dim}, but no split has conditions")
    if d.num_classes is not None and all(b.labels is None for b in batches):
        problems.append(f"num_classes is {d.num_classes}, but no split has labels")
    per_split = []
    for split in SPLITS:
        scan = s.scan(split)
        chunks = [scan.indices[start:start + CHUNK] for start in range(0, len(scan.indices), CHUNK)]
        # The first problem of each split: a wrong shape would repeat in every chunk.
        found = (_batch_problem(d, batch, chunk) for batch, chunk in zip(scan.batches, chunks, strict=True))
        problem = next((p for p in found if p), None)
        if problem:
            per_split.append((split, problem))
    grouped = _by_split(per_split)
    return "; ".join(problems + ([grouped] if grouped else [])) or None


def _render(s: _Subject) -> str | None:
    d = s.dataset
    n = min(FEW, len(d.test))
    labels = d.test.get(torch.arange(n)).labels
    if labels is None:
        return "render is set, but the test split has no labels to render"
    x = d.render(labels)
    expected = (n, d.channels, d.resolution, d.resolution)
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != expected:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        return f"render(the labels of test items 0-{n - 1}) returned {got}, expected shape {expected}"
    x = x.float()
    if not torch.isfinite(x).all():
        return f"render(the labels of test items 0-{n - 1}) has NaN or inf values"
    if x.min() < -1 - TOLERANCE or x.max() > 1 + TOLERANCE:
        return (f"render(the labels of test items 0-{n - 1}) must lie in [-1, 1], got "
                f"[{x.min():.4g}, {x.max():.4g}]" + _range_hint(x.min().item(), x.max().item()))
    return None


_CHECKS: tuple[_Check[_Subject], ...] = (
    _Check("build(seed, **options) returns a harness.Dataset", _build, required=True),
    _Check("train, val and test are non-empty DataSplits", _non_empty, required=True),
    _Check("each split yields float images (n, C, H, W) of the declared resolution and channels", _shapes),
    _Check("image values are finite and lie in [-1, 1]", _values),
    _Check("no image is in both train and test, or in both val and test", _disjoint),
    _Check("the same seed gives the same splits, bit for bit", _same_seed),
    _Check("conditions and labels are consistent", _conditions_and_labels),
    _Check("render(labels) gives images of the declared shape in [-1, 1]", _render,
           applies=lambda s: s.dataset.render is not None),
)


def check_dataset(spec: DatasetSpec, options: dict | None = None) -> list[CheckResult]:
    """Runs every check on the dataset ``spec`` builds with seed 0 and its defaults,
    overridden by ``options``; later checks are left out when building fails or is
    skipped."""
    subject = _Subject(spec, {**getattr(spec, "defaults", {}), **(options or {})})
    return run_checks(getattr(spec, "name", repr(spec)), _CHECKS, subject)


def assert_dataset_conforms(spec: DatasetSpec, options: dict | None = None) -> None:
    """A pytest helper for plugin authors: fails with every failing check listed (a
    dataset that cannot be built here, its files missing, is skipped, not failed)."""
    raise_failures(getattr(spec, "name", spec), check_dataset(spec, options))
