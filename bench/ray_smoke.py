"""The smoke suite run locally and through a two-node Ray cluster on this machine, for
docs/scaling.md ("Measured here"): wall time of each, and what Ray adds per entry.

    .venv/bin/python -m bench.ray_smoke

Every run uses one CPU thread (what Ray gives a task of one CPU), so that the ways of
running differ only in how entries are dispatched. Not a pytest benchmark: it starts a
cluster and takes minutes."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from tests.helpers import genbench
from tests.test_ray_executor import AUTH, THREADS, RayCluster

WAYS = {
    "local, one entry at a time (a worker process each)": [],
    "local, --jobs 2": ["--jobs", "2"],
    "local, --isolation none (in this process)": ["--isolation", "none"],
}


def timed(args: list[str], env: dict[str, str], out: Path) -> float:
    started = time.perf_counter()
    done = genbench("run", "--suite", "smoke", "--device", "cpu", "--no-report", "--out", out, *args, env=env,
                    timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.perf_counter() - started


def main() -> None:
    env = {**os.environ, **THREADS, **AUTH}
    root = Path(tempfile.mkdtemp(prefix="ray-smoke-"))
    times = {way: timed(args, env, root / f"local{k}") for k, (way, args) in enumerate(WAYS.items())}
    for nodes in (1, 2):
        cluster = RayCluster(env)
        cluster.start(nodes)
        try:
            times[f"ray, {nodes} node(s) of 1 CPU"] = timed(["--executor", "ray", "--ray-address", cluster.address],
                                                            env, root / f"ray{nodes}")
        finally:
            cluster.stop()
    entries = 10  # the smoke suite
    in_process = times["local, --isolation none (in this process)"]
    print("| how | wall time | per entry | against in-process |")
    print("| --- | --- | --- | --- |")
    for way, seconds in times.items():
        print(f"| {way} | {seconds:.1f} s | {seconds / entries:.2f} s | {in_process / seconds:.2f}x |")


if __name__ == "__main__":
    main()
