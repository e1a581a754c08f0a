"""The conformance checks of datasets, feature extractors and reporters: the built-in
ones pass, and each deliberately broken one is failed with a message that says what is
wrong."""

from __future__ import annotations

import dataclasses
import itertools
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F

from harness import builtins
from harness.api import Dataset, DatasetSpec, FeatureExtractor, Reporter, TensorSplit
from harness.conformance import (
    assert_dataset_conforms,
    assert_extractor_conforms,
    assert_reporter_conforms,
    check_dataset,
    check_extractor,
    check_reporter,
)
from harness.datasets import clocks
from harness.errors import UsageError
from harness.metrics.domain_nets import ClockNet, DigitNet
from harness.metrics.inception import InceptionExtractor
from harness.reporters import CsvReporter, JsonReporter, MarkdownReporter, TerminalReporter

BUILTIN_DATASETS = {spec.name: spec for spec in builtins.genbench_datasets()}


def failures(results) -> dict[str, str]:
    return {r.check: r.message for r in results if r.status == "fail"}


# -- datasets ------------------------------------------------------------------------

def tensor_dataset(seed: int = 0, resolution: int = 8, shift=lambda x: x, test_from_train: int = 0,
                   label_offset: int = 0, **declared) -> Dataset:
    """40 distinct random 8x8 images (30 train, 5 val, 5 test) with labels 0-9, split by
    ``seed``, broken as the keyword arguments say."""
    g = torch.Generator().manual_seed(seed)
    images = shift(torch.rand(40, 1, resolution, resolution, generator=g) * 2 - 1)
    labels = torch.randint(0, 10, (40,), generator=g) + label_offset
    split = lambda i: TensorSplit(images[i], labels=labels[i])  # noqa: E731
    test = list(range(35, 40 - test_from_train)) + list(range(test_from_train))
    fields = {"resolution": resolution, "channels": 1, "num_classes": 10, **declared}
    return Dataset("random", train=split(list(range(30))), val=split(list(range(30, 35))), test=split(test),
                   **fields)


def spec(build) -> DatasetSpec:
    return DatasetSpec("random", build=build)


@pytest.mark.parametrize("name, options", [("clocks", {"resolution": 16}), ("digits", {"resolution": 8})])
def test_builtin_datasets_conform(name, options):
    results = check_dataset(BUILTIN_DATASETS[name], options)
    assert all(r.status == "ok" for r in results), failures(results)
    assert len(results) == (8 if name == "clocks" else 7)  # clocks has render


def test_a_good_dataset_conforms():
    assert_dataset_conforms(spec(tensor_dataset))


def test_a_file_dataset_without_its_files_is_skipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GENBENCH_DATA", raising=False)
    results = check_dataset(BUILTIN_DATASETS["mnist"])
    assert [r.status for r in results] == ["skip"]
    assert "files not found" in results[0].message and results[0].ok
    # The pytest helper skips, neither passing (nothing was checked) nor failing.
    with pytest.raises(pytest.skip.Exception, match="could not run here: cannot be built here: cifar10: files"):
        assert_dataset_conforms(BUILTIN_DATASETS["cifar10"])


def test_declared_resolution_is_held_to_the_images():
    broken = spec(lambda seed: dataclasses.replace(tensor_dataset(seed, resolution=16), resolution=32))
    message = failures(check_dataset(broken))[
        "each split yields float images (n, C, H, W) of the declared resolution and channels"]
    assert message == ("train, val and test: get(items 0-3) has images of shape (4, 1, 16, 16), expected "
                       "(4, 1, 32, 32) (n, C, H, W) for the declared resolution 32 and channels 1")


def test_zero_to_one_images_get_the_hint():
    with pytest.raises(AssertionError, match=r"train: all values .* lie in \[.*\]: looks like \[0, 1\]: "
                                             r"map to \[-1, 1\] with x \* 2 - 1"):
        assert_dataset_conforms(spec(lambda seed: tensor_dataset(seed, shift=lambda x: (x + 1) / 2)))


def test_out_of_range_and_nan_images_are_named():
    def build(seed):
        d = tensor_dataset(seed, shift=lambda x: (x + 1) * 127.5)
        d.test.images[2, 0, 0, 0] = float("nan")
        return d

    message = failures(check_dataset(spec(build)))["image values are finite and lie in [-1, 1]"]
    assert "train: values must lie in [-1, 1], got [" in message and "looks like [0, 255]" in message
    assert "test: item 2 has NaN or inf values" in message


def test_overlapping_splits_are_named():
    message = failures(check_dataset(spec(lambda seed: tensor_dataset(seed, test_from_train=2))))[
        "no image is in both train and test, or in both val and test"]
    assert message.startswith("train item 0 and test item 3 are the same image (2 of the 30 train items")


def test_a_split_that_ignores_the_seed_is_named():
    calls = itertools.count()

    def build(seed):
        return tensor_dataset(next(calls))  # another split on every build, whatever the seed

    message = failures(check_dataset(spec(build)))["the same seed gives the same splits, bit for bit"]
    assert message.startswith("a second build with seed 0 gives other train items: 30 of the 30 read differ")


def test_labels_out_of_range_are_named():
    message = failures(check_dataset(spec(lambda seed: tensor_dataset(seed, label_offset=5))))[
        "conditions and labels are consistent"]
    assert message.startswith("train: label 11 of item 0 is outside [0, 10) (num_classes is 10); val: label ")


def test_condition_dim_mismatch_is_named():
    def build(seed):
        return dataclasses.replace(clocks.build(seed, resolution=8), condition_dim=5)

    message = failures(check_dataset(spec(build)))["conditions and labels are consistent"]
    assert message == "train, val and test: conditions have dimension 6, but condition_dim is 5"


def test_labels_in_some_splits_only_are_named():
    def build(seed):
        d = tensor_dataset(seed)
        d.val.labels = None
        return d

    message = failures(check_dataset(spec(build)))["conditions and labels are consistent"]
    assert "train and test have labels, val not: every split or none" in message


def test_render_of_the_wrong_shape_is_named():
    def build(seed):
        return dataclasses.replace(tensor_dataset(seed), render=lambda labels: torch.zeros(len(labels), 1, 4, 4))

    message = failures(check_dataset(spec(build)))["render(labels) gives images of the declared shape in [-1, 1]"]
    assert message == "render(the labels of test items 0-3) returned (4, 1, 4, 4), expected shape (4, 1, 8, 8)"


def test_a_build_that_returns_no_dataset_stops_the_checks():
    results = check_dataset(spec(lambda seed: {"train": []}))
    assert [(r.status, r.message) for r in results] == [("fail", "build returned a dict, not a harness.Dataset")]


def test_a_usage_error_is_a_skip_with_its_reason():
    def build(seed):
        raise UsageError("random: put the files in ./random")

    results = check_dataset(spec(build))
    assert [(r.status, r.message) for r in results] == [
        ("skip", "cannot be built here: random: put the files in ./random")]


# -- feature extractors --------------------------------------------------------------

class Pooled(FeatureExtractor):
    """4x4 average pooling: 16 features per channel, deterministic, no classes."""

    name = "pooled"
    feature_dim = 16

    def fingerprint(self) -> str:
        return "pooled|4x4"

    def extract(self, images):
        return F.adaptive_avg_pool2d(images, 4).flatten(1), None


class Noisy(Pooled):
    def extract(self, images):
        return F.adaptive_avg_pool2d(images, 4).flatten(1) + torch.rand(len(images), 16), None


class Undeclared(Pooled):
    feature_dim = 32


class BatchWide(Pooled):
    feature_dim = None

    def extract(self, images):
        return images.flatten(1)[:, :len(images)], None


class BadClasses(Pooled):
    num_classes = 3

    def extract(self, images):
        return super().extract(images)[0], torch.arange(len(images))


class Unstable(Pooled):
    counter = itertools.count()

    def fingerprint(self) -> str:
        return f"pooled|{next(self.counter)}"


class NaNs(Pooled):
    def extract(self, images):
        features = super().extract(images)[0]
        features[1, 3] = float("nan")
        return features, None


class Missing(Pooled):
    def unavailable(self):
        return "pooled weights are not here"


@pytest.fixture(scope="module")
def small_clocks():
    return clocks.build(0, resolution=16)


def test_builtin_extractors_conform(small_clocks):
    for extractor in (ClockNet(), DigitNet()):
        results = check_extractor(extractor, small_clocks)
        assert len(results) == 8 and all(r.status == "ok" for r in results), failures(results)
    assert_extractor_conforms(Pooled())  # on the built-in clocks by default


def test_inception_without_weights_is_skipped(small_clocks):
    results = check_extractor(InceptionExtractor(), small_clocks)
    assert [r.status for r in results] == ["skip"]
    assert results[0].message.startswith("unavailable here: no FID Inception weights")


@pytest.mark.parametrize("extractor, check, expected", [
    (Noisy(), "same images, same features", "two calls on the same images give features that differ by"),
    (Undeclared(), "D equals the declared feature_dim", "features have dimension 16, but feature_dim is 32"),
    (BatchWide(), "the feature dimension D does not depend on the batch size",
     "the feature dimension is 8 for a batch of 8 images, 3 for a batch of 3"),
    (BadClasses(), "classes are None without num_classes, else (B,) int64 in [0, num_classes)",
     "class 3 of image 3 is outside [0, 3) (num_classes is 3)"),
    (Unstable(), "fingerprint() is a non-empty str, the same on every call",
     "fingerprint() changed between two calls: 'pooled|0', then 'pooled|1'"),
    (NaNs(), "extract returns (features, classes) with finite float features (B, D)",
     "features contain NaN or inf (images [1] of 8)"),
])
def test_broken_extractors_are_named(small_clocks, extractor, check, expected):
    assert failures(check_extractor(extractor, small_clocks)).get(check, "").startswith(expected)


def test_an_unavailable_extractor_is_skipped(small_clocks):
    results = check_extractor(Missing(), small_clocks)
    assert [(r.status, r.message) for r in results] == [("skip", "unavailable here: pooled weights are not here")]


# -- reporters -----------------------------------------------------------------------

class DropsARow(MarkdownReporter):
    name = "drops"

    def render(self, table):
        table.rows = table.rows[:-1]
        return super().render(table)


class Ascii(Reporter):
    name = "ascii"

    def render(self, table):
        return "\n".join(r["generator"] for r in table.rows).encode("ascii").decode()


class Bytes(Reporter):
    name = "bytes"

    def render(self, table):
        return MarkdownReporter().render(table).encode()


class Counting(MarkdownReporter):
    name = "counting"
    renders: ClassVar = itertools.count()

    def render(self, table):
        return super().render(table) + f"rendered {next(self.renders)} times\n"


class Surrogate(MarkdownReporter):
    name = ".md/x"

    def render(self, table):
        return super().render(table) + "\ud800"


@pytest.mark.parametrize("reporter", [MarkdownReporter(), CsvReporter(), JsonReporter(), TerminalReporter()],
                         ids=lambda r: r.name)
def test_builtin_reporters_conform(reporter):
    assert_reporter_conforms(reporter)
    assert len(check_reporter(reporter)) == 5


@pytest.mark.parametrize("reporter, check, expected", [
    (DropsARow(), "every row's generator is in the output", "the output lacks the generator 'vqvae' of row 5 of 5"),
    (Ascii(), "render returns a non-empty str", "raised UnicodeEncodeError: 'ascii' codec can't encode"),
    (Bytes(), "render returns a non-empty str", "render returned bytes, expected a str"),
    (Counting(), "rendering twice gives the same text",
     "two renders of the same leaderboard differ from character"),
    (Surrogate(), "the output encodes to UTF-8", "the output does not encode to UTF-8: 'utf-8' codec can't encode"),
    (Surrogate(), "name is a non-empty str usable as a file extension",
     "name '.md/x' cannot be a file extension: no '/', no whitespace, no leading '.'"),
])
def test_broken_reporters_are_named(reporter, check, expected):
    assert failures(check_reporter(reporter)).get(check, "").startswith(expected)


def test_a_reporter_that_cannot_render_fails_once():
    with pytest.raises(AssertionError, match=r"(?s)bytes fails the genbench conformance check:\n"
                                             r"- render returns a non-empty str: render returned bytes"):
        assert_reporter_conforms(Bytes())
    assert [r.check for r in check_reporter(Bytes())] == [
        "name is a non-empty str usable as a file extension", "render returns a non-empty str"]
