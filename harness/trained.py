"""A finished run's generator, rebuilt from its options and its latest checkpoint (for
``genbench clock`` and anything else that uses a trained model after its run)."""

from __future__ import annotations

import torch

from harness.api import Dataset, Generator
from harness.errors import UsageError
from harness.plugins import Host
from harness.records import Run, RunDir


def load(host: Host, run: Run, device: torch.device) -> tuple[Generator, Dataset]:
    """The run's generator with its trained weights, in eval mode, and its dataset."""
    folder = RunDir(run.run_dir)
    ckpt = folder.latest_checkpoint()
    if ckpt is None:
        raise UsageError(f"run {run.id} has no checkpoint in {run.run_dir}")
    options = folder.read_options() if folder.options_file.is_file() else run.options
    dataset_options = dict(options["dataset_options"])
    dataset = host.dataset(run.dataset).build(seed=dataset_options.pop("split_seed", 0), **dataset_options)
    gen = host.generator(run.generator)(dataset, device, options["config"])
    gen.load_state_dict(folder.load_checkpoint(ckpt)["generator"])
    gen.train(False)
    return gen, dataset
