"""A finished run's generator, rebuilt from its options and its latest checkpoint (for
``genbench clock``, and for sampler variants evaluated in a later session)."""

from __future__ import annotations

import torch

from harness.api import Dataset, Generator
from harness.errors import UsageError
from harness.plans import RunPlan, build_dataset
from harness.plugins import Host
from harness.records import Run, RunDir
from harness.records.options import check as check_options


def load(host: Host, run: Run, device: torch.device) -> tuple[Generator, Dataset]:
    """The run's generator with its trained weights, in eval mode, and its dataset."""
    folder = RunDir(run.run_dir)
    if not folder.path.is_dir():
        raise UsageError(f"run {run.id}: {folder.unreachable(run.process)}")
    ckpt = folder.latest_checkpoint()
    if ckpt is None:
        raise UsageError(f"run {run.id} has no checkpoint in {run.run_dir}")
    checkpoint = folder.load_checkpoint(ckpt)  # first: a file holding code is refused before anything runs
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("generator"), dict):
        raise UsageError(f"{ckpt} is not a genbench checkpoint (no generator state in it)")
    if folder.options_file.is_file():  # a folder edited since the run is checked against its record
        options = check_options(folder.read_options(), str(folder.options_file), run.id, run.options,
                                "the database")
    else:
        options = run.options
    plan = RunPlan.from_options(host, options)
    dataset = build_dataset(host, plan.dataset, plan.dataset_options)
    gen = plan.generator(dataset, device, plan.config)
    gen.load_state_dict(checkpoint["generator"])
    gen.train(False)
    return gen, dataset
