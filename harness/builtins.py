"""The host's own plugin: the built-in datasets, metrics, reporters and executors.

It is registered through the ``genbench`` entry-point group (see pyproject.toml),
exactly as a third-party plugin is, and implements the same hooks.
"""

from __future__ import annotations

import functools

import torch

from harness.api import DatasetSpec, EvalContext, Metric, MetricResult
from harness.datasets import clocks, digits, files
from harness.executors.builtin import EXECUTORS
from harness.markers import hookimpl
from harness.metrics import nearest_real_ssim, ssim
from harness.metrics.domain_nets import ClockNet, DigitNet
from harness.metrics.inception import InceptionExtractor
from harness.metrics.ssim import reference_indices
from harness.reporters import CsvReporter, JsonReporter, MarkdownReporter, TerminalReporter

DATA_RANGE = 2.0  # images are in [-1, 1]
NEAREST_REAL_REFERENCES = 128
NEAREST_REAL_SAMPLES = 256
NEAREST_REAL_SEED = 0  # fixed: the reference set belongs to the dataset, not to a run
# MNIST's digits are what the digit network was trained to tell apart; the other file
# datasets are ranked by FID, as published results on them are.
RANK_BY = {"mnist": "fd-digitnet"}


class SsimMetric(Metric):
    """SSIM in the sense the generator declares (paired, reconstruction or nearest-real)."""

    name = "ssim"
    direction = "max"
    kind = "ssim"
    description = "structural similarity (Wang et al. 2004), 11x11 Gaussian window"

    def compute(self, ctx: EvalContext) -> MetricResult:
        kind = ctx.generator.ssim_kind
        extra = {}
        if kind in ("paired", "reconstruction"):
            real = ctx.real.images.to(ctx.device)  # on the GPU when the run has one
        if kind == "paired":
            n = ctx.samples.shape[0]
            value = ssim(ctx.samples.to(ctx.device), real[:n], DATA_RANGE)
        elif kind == "reconstruction":
            with torch.no_grad():
                recon = torch.cat([ctx.generator.reconstruct(real[i:i + 64]).float()
                                   for i in range(0, real.shape[0], 64)])
            n, value = real.shape[0], ssim(recon, real, DATA_RANGE)
        else:
            # One reference set per test split: 128 of its items drawn with a fixed seed,
            # the same for every generator, run seed and budget, unbiased whatever the
            # split's order. (Until this was fixed, the run's seed drew them from the
            # budget's first N test items.)
            test = ctx.dataset.test
            refs = test.get(reference_indices(len(test), NEAREST_REAL_REFERENCES, NEAREST_REAL_SEED)).images
            samples = ctx.samples[:NEAREST_REAL_SAMPLES].to(ctx.device)
            n = samples.shape[0]
            value = float(nearest_real_ssim(samples, refs.to(ctx.device), DATA_RANGE).mean())
            extra = {"references": refs.shape[0]}
        return MetricResult(value, {"kind": kind, "n": n, "data_range": DATA_RANGE, **extra})


@hookimpl
def genbench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("clocks", build=clocks.build, description=clocks.__doc__.splitlines()[0],
                        defaults={"resolution": 32, "channels": 1}, rank_by="fd-clocknet"),
            DatasetSpec("digits", build=digits.build, description=digits.__doc__.splitlines()[0],
                        defaults={"resolution": 32}, rank_by="fd-digitnet"),
            *(DatasetSpec(name, build=functools.partial(files.build, name),
                          description=f"{name}, read from its original files (docs/datasets.md)",
                          defaults={"resolution": src.native_resolution, "channels": src.channels, "root": "",
                                    "download": False},
                        rank_by=RANK_BY.get(name, "fid"))
              for name, src in files.SOURCES.items())]


@hookimpl
def genbench_metrics() -> list[Metric]:
    return [SsimMetric()]


@hookimpl
def genbench_feature_extractors():
    return [InceptionExtractor(), ClockNet(), DigitNet()]


@hookimpl
def genbench_reporters():
    return [MarkdownReporter(), CsvReporter(), JsonReporter(), TerminalReporter()]


@hookimpl
def genbench_executors():
    return list(EXECUTORS)
