"""Planted results: suite runs written through the real ResultsStore API with chosen
metric values, so compare and history can be tested against a known truth."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from harness.budgets import NAMED
from harness.records import MetricValue, ResultsStore

DIRECTIONS = {"train_images_per_s": "max", "fd-clocknet": "min", "fid": "min", "ssim": "max"}
KINDS = {"train_images_per_s": "timing", "fd-clocknet": "fd", "fid": "fd", "ssim": "ssim"}
DEVICE = "Test CPU (2 logical cores, 2 torch threads)"


def noisy(center: float, rel_noise: float, n: int, seed: int) -> list[float]:
    """n values around center with a relative standard deviation of rel_noise."""
    rng = np.random.default_rng(seed)
    return list(center * (1 + rel_noise * rng.standard_normal(n)))


def plant_suite(store: ResultsStore, label: str | None, values: dict[str, list[float]], *,
                generator: str = "dcgan", dataset: str = "clocks", extractor: str = "clocknet",
                device: str = DEVICE, n: int = 512, failed_seeds: tuple[int, ...] = (),
                run_dir: Path | None = None, started: float | None = None, setting: str | None = None,
                stopped_by: str | None = None, given: dict | None = None) -> str:
    """One suite run of len(values) seeds of one generator; returns its id. Seed i gets
    values[metric][i] for every metric."""
    suite_run = f"s-{secrets.token_hex(4)}"
    env = {"device_name": device, "git_commit": "abc123"}
    store.add_suite_run(suite_run, "planted", label, "quick", {}, env, started=started)
    seeds = len(next(iter(values.values())))
    for seed in range(seeds):
        run_id = f"r-{secrets.token_hex(4)}"
        store.add_run(id=run_id, suite_run=suite_run, generator=generator, dataset=dataset, budget="quick",
                      seed=seed, run_dir=run_dir or "/nonexistent", options={"config": {}},
                      given=given or NAMED["quick"].as_dict(), env=env)
        if seed in failed_seeds:
            store.finish_run(run_id, "failed", {}, [], reason="loss became nan at step 7", failed_step=7)
            continue
        metrics = [MetricValue(name, vals[seed], DIRECTIONS.get(name, "min"), KINDS.get(name, "other"), n,
                               {"extractor": extractor} if KINDS.get(name) == "fd" else {})
                   for name, vals in values.items()]
        used = {"images_seen": 1000, "setting": setting} | ({"stopped_by": stopped_by} if stopped_by else {})
        store.finish_run(run_id, "ok", used, metrics)
    store.finish_suite_run(suite_run)
    return suite_run
