"""The metric columns the host derives from every feature extractor: FD, KID and, for a
classifier, mode coverage. The samples' features are extracted once per evaluation and
shared by the columns through ``EvalContext.memo``; the real images' come from the cache."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from harness.api import Dataset, EvalContext, FeatureExtractor, Generator, Metric, MetricResult
from harness.metrics.coverage import COVERED_FRACTION_OF_UNIFORM, class_kl, classes_covered
from harness.metrics.features import Features, extract, reference_features
from harness.metrics.frechet import frechet_distance, kid, statistics

# Below this many samples FD is biased upward enough to change rankings (Chong & Forsyth
# 2020); the leaderboard flags it. KID is unbiased and stays comparable.
FD_MIN_RELIABLE_N = 2048
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000


def _features(ctx: EvalContext, extractor: FeatureExtractor) -> tuple[Features, Features, bool]:
    key = ("features", extractor.name)
    if key not in ctx.memo:
        samples = extract(extractor, ctx.samples, ctx.device)
        real, cached = reference_features(extractor, ctx.real.images, ctx.device, ctx.cache_dir)
        ctx.memo[key] = (samples, real, cached)
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
        value, details = self.value(samples, real, ctx.seed)
        details |= {"extractor": self.extractor.name, "n": len(samples), "n_real": len(real),
                    "real_features_cached": cached}
        return MetricResult(value, details)

    @abstractmethod
    def value(self, samples: Features, real: Features, seed: int) -> tuple[float, dict[str, Any]]:
        """The column's value and its details, from the two sets of features."""


class FrechetMetric(_FeatureMetric):
    direction = "min"
    kind = "fd"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = extractor.fd_column
        self.description = f"Fréchet distance in {extractor.name} features ({extractor.description})"

    def value(self, samples, real, seed):
        mu1, s1 = statistics(samples.features)
        mu2, s2 = statistics(real.features)
        small = min(len(samples), len(real)) < FD_MIN_RELIABLE_N
        return frechet_distance(mu1, s1, mu2, s2), {"dims": int(mu1.size), "small_n": small}


class KidMetric(_FeatureMetric):
    direction = "min"
    kind = "kid"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = f"kid-{extractor.name}"
        self.description = f"kernel inception distance (unbiased MMD², cubic kernel) in {extractor.name} features"

    def value(self, samples, real, seed):
        mean, std = kid(samples.features, real.features, KID_SUBSETS, KID_SUBSET_SIZE, seed=seed)
        size = min(KID_SUBSET_SIZE, len(samples), len(real))
        return mean, {"std": std, "subsets": KID_SUBSETS, "subset_size": size}


class ModesCoveredMetric(_FeatureMetric):
    direction = "max"
    kind = "coverage"

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__(extractor)
        self.name = f"modes-{extractor.name}"
        self.description = (f"classes (of {extractor.num_classes}) that {extractor.name} finds in at least "
                            f"{COVERED_FRACTION_OF_UNIFORM:g} of their uniform share of the samples")

    def value(self, samples, real, seed):
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

    def value(self, samples, real, seed):
        return class_kl(samples.classes, real.classes, self.extractor.num_classes), {}


def metrics_for(extractor: FeatureExtractor) -> list[Metric]:
    """The columns an extractor contributes."""
    metrics: list[Metric] = [FrechetMetric(extractor), KidMetric(extractor)]
    if extractor.num_classes:
        metrics += [ModesCoveredMetric(extractor), ModeKlMetric(extractor)]
    return metrics
