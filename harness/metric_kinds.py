"""The kinds of metric genbench knows, shared by the plugin API and the records."""

from __future__ import annotations

from typing import Literal

# What a metric measures, so that no reader parses it out of a column name:
#   fd / kid     a Fréchet / kernel distance in one extractor's feature space
#   fd-inf       FD∞: that Fréchet distance extrapolated to infinitely many samples, free of
#                FD's small-N bias (so, unlike fd, never flagged for its N)
#   coverage     how the samples' predicted classes cover the real data's
#   ssim         structural similarity (its kind is in the details)
#   timing       throughput, latency, memory, size, wall time
#   extra        a generator's own number (e.g. bits/dim)
#   other        any other metric a plugin offers
MetricKind = Literal["fd", "fd-inf", "kid", "coverage", "ssim", "timing", "extra", "other"]
