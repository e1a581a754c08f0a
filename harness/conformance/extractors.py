"""The checks of a feature extractor: it says whether it can run here, identifies itself
by a stable fingerprint, and maps a batch of images to finite float features (B, D) of
one dimension D, the same on every call, with classes (B,) in [0, num_classes) exactly
when it declares ``num_classes``.

Images reach ``extract`` as the host passes them: test images of the dataset (the
built-in clocks unless given), quantized to 8 bits and scaled to [0, 1], on the device.
An extractor whose ``unavailable()`` gives a reason (the built-in Inception without its
weights) is skipped with that reason.

Checks, in order:

- unavailable() is None (required; a reason is a skip)
- fingerprint() is a non-empty str, the same on every call
- extract returns (features, classes) with finite float features (B, D) (required)
- same images, same features
- the feature dimension D does not depend on the batch size
- D equals the declared feature_dim (only an extractor that declares it)
- classes are None without num_classes, else (B,) int64 in [0, num_classes)
- applies_to(dataset) returns a bool
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from harness.api import Dataset, FeatureExtractor
from harness.conformance.common import CheckResult, Skip, _Check, default_dataset, raise_failures, run_checks
from harness.metrics.features import quantize

BATCH, SMALL_BATCH = 8, 3

Output = tuple[torch.Tensor, torch.Tensor | None]


@dataclass
class _Subject:
    """The extractor under test, the images it is fed, and its features of them."""

    extractor: FeatureExtractor
    dataset: Dataset
    device: torch.device
    images: torch.Tensor = field(init=False)
    first: Output = field(init=False)  # extract's output on ``images``

    def __post_init__(self) -> None:
        n = min(BATCH, len(self.dataset.test))
        real = self.dataset.test.get(torch.arange(n)).images
        self.images = (quantize(real).float() / 255).to(self.device)

    def extract(self, images: torch.Tensor) -> Output:
        with torch.inference_mode():
            return self.extractor.extract(images)


# Each check returns None when it passes, otherwise what is wrong.

def _available(s: _Subject) -> str | None:
    reason = s.extractor.unavailable()
    if reason is None:
        return None
    if isinstance(reason, str) and reason:
        raise Skip(f"unavailable here: {reason}")
    return f"unavailable() returned {reason!r}, expected None or a reason (a non-empty str)"


def _fingerprint(s: _Subject) -> str | None:
    first, second = s.extractor.fingerprint(), s.extractor.fingerprint()
    if not isinstance(first, str) or not first:
        return f"fingerprint() returned {first!r}, expected a non-empty str"
    if first != second:
        return f"fingerprint() changed between two calls: {first!r}, then {second!r}"
    return None


def _output(output: object, n: int) -> str | None:
    """What is wrong with ``extract``'s output for ``n`` images, or None."""
    if not isinstance(output, tuple) or len(output) != 2:
        return f"extract returned {type(output).__name__}, expected a (features, classes) tuple"
    features = output[0]
    if not isinstance(features, torch.Tensor):
        return f"features are {type(features).__name__}, expected a torch.Tensor"
    if features.ndim != 2 or features.shape[0] != n:
        return f"features of {n} images have shape {tuple(features.shape)}, expected ({n}, D)"
    if not features.is_floating_point():
        return f"features are {features.dtype}, expected a float dtype"
    if not torch.isfinite(features).all():
        rows = (~torch.isfinite(features)).any(dim=1).nonzero().flatten().tolist()
        return f"features contain NaN or inf (images {rows} of {n})"
    return None


def _extract(s: _Subject) -> str | None:
    s.first = s.extract(s.images)
    return _output(s.first, len(s.images))


def _determinism(s: _Subject) -> str | None:
    again = s.extract(s.images)
    problem = _output(again, len(s.images))
    if problem:
        return f"a second call: {problem}"
    (f1, c1), (f2, c2) = s.first, again
    if not torch.equal(f1, f2):
        return f"two calls on the same images give features that differ by {(f1 - f2).abs().max():.3g}"
    if (c1 is None) != (c2 is None) or (c1 is not None and not torch.equal(c1, c2)):
        return f"two calls on the same images give other classes: {c1!r}, then {c2!r}"
    return None


def _batch_size(s: _Subject) -> str | None:
    n = min(SMALL_BATCH, len(s.images) - 1) or 1
    small = s.extract(s.images[:n])
    problem = _output(small, n)
    if problem:
        return f"on a batch of {n}: {problem}"
    d, d_small = s.first[0].shape[1], small[0].shape[1]
    return None if d == d_small else (
        f"the feature dimension is {d} for a batch of {len(s.images)} images, {d_small} for a batch of {n}")


def _feature_dim(s: _Subject) -> str | None:
    d, declared = s.first[0].shape[1], s.extractor.feature_dim
    return None if d == declared else f"features have dimension {d}, but feature_dim is {declared!r}"


def _classes(s: _Subject) -> str | None:
    classes, k, n = s.first[1], s.extractor.num_classes, len(s.images)
    if k is None:
        return None if classes is None else (
            f"extract returned classes {tuple(getattr(classes, 'shape', ()))}, but num_classes is None "
            "(set num_classes for a classifier, else return None)")
    if not isinstance(classes, torch.Tensor):
        return f"num_classes is {k}, but extract returned classes {classes!r}, expected a ({n},) int64 tensor"
    if tuple(classes.shape) != (n,) or classes.dtype != torch.int64:
        return f"classes are {classes.dtype} of shape {tuple(classes.shape)}, expected torch.int64 of shape ({n},)"
    outside = ((classes < 0) | (classes >= k)).nonzero().flatten().tolist()
    if outside:
        return (f"class {int(classes[outside[0]])} of image {outside[0]} is outside [0, {k}) "
                f"(num_classes is {k})")
    return None


def _applies_to(s: _Subject) -> str | None:
    answer = s.extractor.applies_to(s.dataset)
    return None if isinstance(answer, bool) else f"applies_to(dataset) returned {answer!r}, expected a bool"


_CHECKS: tuple[_Check[_Subject], ...] = (
    _Check("unavailable() is None", _available, required=True),
    _Check("fingerprint() is a non-empty str, the same on every call", _fingerprint),
    _Check("extract returns (features, classes) with finite float features (B, D)", _extract, required=True),
    _Check("same images, same features", _determinism),
    _Check("the feature dimension D does not depend on the batch size", _batch_size),
    _Check("D equals the declared feature_dim", _feature_dim,
           applies=lambda s: s.extractor.feature_dim is not None),
    _Check("classes are None without num_classes, else (B,) int64 in [0, num_classes)", _classes),
    _Check("applies_to(dataset) returns a bool", _applies_to),
)


def check_extractor(extractor: FeatureExtractor, dataset: Dataset | None = None,
                    device: torch.device | None = None) -> list[CheckResult]:
    """Runs every check on ``extractor``, fed test images of ``dataset`` (default: the
    built-in clocks) on ``device`` (default: the CPU); later checks are left out when it
    is unavailable here or ``extract`` fails."""
    subject = _Subject(extractor, default_dataset() if dataset is None else dataset, device or torch.device("cpu"))
    return run_checks(getattr(extractor, "name", type(extractor).__name__), _CHECKS, subject)


def assert_extractor_conforms(extractor: FeatureExtractor, dataset: Dataset | None = None) -> None:
    """A pytest helper for plugin authors: fails with every failing check listed (an
    extractor that is unavailable here is skipped, not failed)."""
    raise_failures(getattr(extractor, "name", extractor), check_extractor(extractor, dataset))
