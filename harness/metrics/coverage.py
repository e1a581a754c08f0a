"""Mode coverage: how a domain classifier's predicted classes are spread over the samples,
compared with the same classifier's predictions on real data. A collapsed generator
covers few classes and has a large KL divergence."""

from __future__ import annotations

import numpy as np

# A class counts as covered when it gets at least this fraction of its uniform share
# (1/K) of the samples: a quarter, so that sampling noise at N = 64 does not uncover or
# hide a class, while a generator that almost never draws it does not get the credit.
COVERED_FRACTION_OF_UNIFORM = 0.25
# Added to every class count of the real histogram so that the KL divergence stays
# finite where the real reference set happens to miss a class (Laplace smoothing).
REAL_PSEUDOCOUNT = 0.5


def class_shares(classes: np.ndarray, num_classes: int, pseudocount: float = 0.0) -> np.ndarray:
    """Fraction of items in each class, (K,), with ``pseudocount`` added to every count."""
    counts = np.bincount(np.asarray(classes, np.int64), minlength=num_classes)[:num_classes] + pseudocount
    return counts / counts.sum()


def classes_covered(classes: np.ndarray, num_classes: int,
                    fraction: float = COVERED_FRACTION_OF_UNIFORM) -> int:
    """The number of classes with at least ``fraction / num_classes`` of the items."""
    return int((class_shares(classes, num_classes) >= fraction / num_classes).sum())


def class_kl(sample_classes: np.ndarray, real_classes: np.ndarray, num_classes: int) -> float:
    """KL(p_samples ‖ p_real) in nats, of the predicted class histograms; the real one is
    smoothed with ``REAL_PSEUDOCOUNT`` per class. 0 when they match; log K when every
    sample falls in one class that holds 1/K of the real data."""
    p = class_shares(sample_classes, num_classes)
    q = class_shares(real_classes, num_classes, REAL_PSEUDOCOUNT)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / q[nz])).sum())
