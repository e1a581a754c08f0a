"""The metric columns the host derives from every feature extractor: FD, FD∞, KID and,
for a classifier, mode coverage. The samples' features are extracted once per evaluation
and shared by the columns through ``EvalContext.memo``, as is what FD and FD∞ share (the
Gram matrices or covariance factor of ``SubsetFrechet``); the real images' features come
from the cache. FD, FD∞ and KID carry a 90% sampling interval (``uncertainty``)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from harness.api import Dataset, EvalContext, FeatureExtractor, Generator, Metric, MetricResult
from harness.metrics.coverage import COVERED_FRACTION_OF_UNIFORM, class_kl, classes_covered
from harness.metrics.fd_infinity import fd_infinity
from harness.metrics.features import Features, extract, reference_features
from harness.metrics.frechet import SubsetFrechet, kid
from harness.metrics.uncertainty import (
    MIN_N,
    SPLITS,
    SUBSAMPLE_CAP,
    fd_interval,
    kid_interval,
    single_threaded_blas,
    small_matrices,
    split_half_interval,
    subsampled,
)

# Below this many samples FD is biased upward enough to change rankings (Chong & Forsyth
# 2020); the leaderboard flags it. KID is unbiased and stays comparable.
FD_MIN_RELIABLE_N = 2048
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
# FD∞'s interval refits FD∞ on each half (22 FDs each), so it takes fewer splits than
# FD's and KID's (the t quantile widens it for them), and from a smaller subsample above
# N = 512: halves of 512 against 1024 real features took ~25 s for Inception on a CPU.
FD_INF_SPLITS, FD_INF_SUBSAMPLE_CAP = 10, 512


def _features(ctx: EvalContext, extractor: FeatureExtractor) -> tuple[Features, Features, bool]:
    key = ("features", extractor.name)
    if key not in ctx.memo:
        samples = extract(extractor, ctx.samples, ctx.device)
        real, cached = reference_features(extractor, ctx.real.images, ctx.device, ctx.cache_dir)
        ctx.memo[key] = (samples, real, cached)
    return ctx.memo[key]


def _frechet(ctx: EvalContext, extractor: FeatureExtractor, samples: Features, real: Features,
             cap: int | None = None) -> SubsetFrechet:
    """FD between subsets of this evaluation's two feature sets, shared by FD and FD∞;
    with ``cap``, of the sets (cut to ``cap`` rows) that the intervals are estimated on."""
    key = ("frechet", extractor.name, cap)
    if key not in ctx.memo:
        x, y = (samples.features, real.features) if cap is None else subsampled(samples.features, real.features,
                                                                                 ctx.seed, cap)
        whole = cap is not None and len(x) == len(samples) and len(y) == len(real)
        with single_threaded_blas(when=small_matrices(len(x), len(y), x.shape[1])):
            ctx.memo[key] = _frechet(ctx, extractor, samples, real) if whole else SubsetFrechet(x, y)
    return ctx.memo[key]


class _FeatureMetric(Metric):
    """A column computed in one extractor's feature space."""

    def __init__(self, extractor: FeatureExtractor) -> None:
        self.extractor = extractor

    def applies_to(self, generator: Generator, dataset: Dataset) -> bool:
        return self.extractor.applies_to(dataset)

    def compute(self, ctx: EvalContext) -> MetricResult:
        reason = self.extractor.unavailable()
        if reason:
            return MetricResult(None, {"extractor": self.extractor.name}, unavailable=reason)
        samples, real, cached = _features(ctx, self.extractor)
        value, details = self.value(samples, real, ctx)
        details |= {"extractor": self.extractor.name, "n": len(samples), "n_real": len(real),
                    "real_features_cached": cached}
        return MetricResult(value, details)

    @abstractmethod
    def value(self, samples: Features, real: Features, ctx: EvalContext) -> tuple[float, dict[str, Any]]:
        """The column's value and its details, from the two sets of features (``ctx``
        for its seed and its memo)."""


class FrechetMetric(_FeatureMetric):
    direction = "min"
    kind = "fd"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = extractor.fd_column
        self.description = f"Fréchet distance in {extractor.name} features ({extractor.description})"

    def value(self, samples, real, ctx):
        # frechet_distance of the two sets' statistics, computed the cheaper way (tested equal)
        frechet = _frechet(ctx, self.extractor, samples, real)
        with single_threaded_blas(when=small_matrices(len(samples), len(real), frechet.x.shape[1])):
            fd = frechet.distance()
        small = min(len(samples), len(real)) < FD_MIN_RELIABLE_N
        details: dict[str, Any] = {"dims": int(samples.features.shape[1]), "small_n": small}
        if len(samples) >= MIN_N:
            sub = _frechet(ctx, self.extractor, samples, real, SUBSAMPLE_CAP)
            details |= fd_interval(fd, sub, len(samples), ctx.seed, SPLITS).details()
        return fd, details


class FrechetInfinityMetric(_FeatureMetric):
    """FD∞ (Chong & Forsyth 2020): FD extrapolated to infinitely many samples."""

    direction = "min"
    kind = "fd-inf"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = f"{extractor.fd_column}-inf"
        self.description = (f"FD∞ in {extractor.name} features: FD extrapolated to infinitely many samples "
                            "(Chong & Forsyth 2020), free of FD's 1/N bias once N/4 is above the feature dimension")

    def value(self, samples, real, ctx):
        value, counts = fd_infinity(_frechet(ctx, self.extractor, samples, real), ctx.seed)
        dims = int(samples.features.shape[1])
        # The 1/N law FD∞ extrapolates holds once every fit point has more samples than
        # dimensions; below that (FID at N = 512) FD∞ removes only part of FD's bias.
        details: dict[str, Any] = {"fit_points": counts, "dims": dims, "fit_above_dims": counts[0] >= dims}
        if len(samples) >= MIN_N:
            sub = _frechet(ctx, self.extractor, samples, real, FD_INF_SUBSAMPLE_CAP)
            interval = split_half_interval(value, lambda idx: fd_infinity(sub, ctx.seed, rows=idx)[0], len(sub.x),
                                           len(samples), FD_INF_SPLITS, ctx.seed)
            details |= interval.details()
        return value, details


class KidMetric(_FeatureMetric):
    direction = "min"
    kind = "kid"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = f"kid-{extractor.name}"
        self.description = f"kernel inception distance (unbiased MMD², cubic kernel) in {extractor.name} features"

    def value(self, samples, real, ctx):
        mean, std = kid(samples.features, real.features, KID_SUBSETS, KID_SUBSET_SIZE, seed=ctx.seed)
        size = min(KID_SUBSET_SIZE, len(samples), len(real))
        details: dict[str, Any] = {"subsets": KID_SUBSETS, "subset_size": size}
        if not size == len(samples) == len(real):  # on both whole sets there is one value: no spread to report
            details["std"] = std
        if len(samples) >= MIN_N:
            details |= kid_interval(mean, samples.features, real.features, ctx.seed, SPLITS).details()
        return mean, details


class ModesCoveredMetric(_FeatureMetric):
    direction = "max"
    kind = "coverage"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = f"modes-{extractor.name}"
        self.description = (f"classes (of {extractor.num_classes}) that {extractor.name} finds in at least "
                            f"{COVERED_FRACTION_OF_UNIFORM:g} of their uniform share of the samples")

    def value(self, samples, real, ctx):
        k = self.extractor.num_classes
        return float(classes_covered(samples.classes, k)), {
            "of": k, "real": classes_covered(real.classes, k)}


class ModeKlMetric(_FeatureMetric):
    direction = "min"
    kind = "coverage"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = f"mode-kl-{extractor.name}"
        self.description = f"KL(samples ‖ real) of {extractor.name}'s predicted class histograms (nats)"

    def value(self, samples, real, ctx):
        return class_kl(samples.classes, real.classes, self.extractor.num_classes), {}


def metrics_for(extractor: FeatureExtractor) -> list[Metric]:
    """The columns an extractor contributes."""
    metrics: list[Metric] = [FrechetMetric(extractor), FrechetInfinityMetric(extractor), KidMetric(extractor)]
    if extractor.num_classes:
        metrics += [ModesCoveredMetric(extractor), ModeKlMetric(extractor)]
    return metrics
