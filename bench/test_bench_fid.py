"""FID feature-extraction throughput: genbench's tensor pipeline (quantize, batch on the
device, no PIL) against pytorch-fid on the same images saved as PNG, the way
``python -m pytorch_fid`` reads them (its default batch size 50 and worker count).

Both use the same weights, written by the benchmark (the real layout, random values:
throughput does not depend on them), found by pytorch-fid in the torch hub cache.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import torch
from PIL import Image

from bench.conftest import devices
from harness.metrics import inception
from harness.metrics.features import extract, quantize
from tests.helpers import random_state_dict

IMAGES = {"cpu": 100, "cuda": 2000}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    home = tmp_path_factory.mktemp("torch_home")
    path = home / "hub" / "checkpoints" / inception.WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save(random_state_dict(0), path)
    old = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(home)
    yield hashlib.sha256(path.read_bytes()).hexdigest(), tmp_path_factory
    if old is None:
        del os.environ["TORCH_HOME"]
    else:
        os.environ["TORCH_HOME"] = old


def _images(n: int, folder) -> tuple[torch.Tensor, list]:
    images = torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    files = []
    for i, img in enumerate(quantize(images)):
        files.append(folder / f"{i:05d}.png")
        Image.fromarray(img[0].numpy()).save(files[-1])
    return images, files


@pytest.mark.parametrize("impl", ["genbench", "pytorch-fid"])
@pytest.mark.parametrize("device", devices())
def test_fid_feature_extraction(benchmark, setup, device, impl):
    from pytorch_fid.fid_score import get_activations
    from pytorch_fid.inception import InceptionV3

    sha, factory = setup
    n = IMAGES[device]
    images, files = _images(n, factory.mktemp("png"))
    dev = torch.device(device)
    if impl == "genbench":
        extractor = inception.InceptionExtractor(expected_sha256=sha)
        fn = lambda: extract(extractor, images, dev)  # noqa: E731
    else:
        model = InceptionV3([3]).to(dev).eval()
        workers = min(len(os.sched_getaffinity(0)), 8)  # what `python -m pytorch_fid` uses
        fn = lambda: get_activations(files, model, 50, 2048, dev, workers)  # noqa: E731
    fn()  # warm-up: weights to the device, allocator, worker start-up paths
    benchmark.group = f"FID Inception features, {n} images 32x32 gray, {device}"
    benchmark.extra_info.update({"impl": impl, "images": n, "device": device})
    benchmark.pedantic(fn, rounds=3, iterations=1)
    log = os.environ.get("GENBENCH_BENCH_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"group": benchmark.group, "impl": impl, "device": device, "images": n,
                                "median_s": benchmark.stats.stats.median}) + "\n")
