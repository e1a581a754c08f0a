"""Wall time of a suite against its entry count and GPU count: the model in
docs/scaling.md, from per-entry times.

Entries are independent and each holds one GPU, so a suite on G GPUs is a schedule of
E jobs on G machines. The executor hands them out in order as GPUs free up, which is
list scheduling; its wall time is at most (sum of entry times) / G + (the longest
entry), and with equal entries exactly ceil(E / G) entry times. Each entry also pays
the executor's own overhead (a worker's start, a Ray task's dispatch), measured in
docs/scaling.md.

    python scripts/scaling_model.py --entry-s 3700 --overhead-s 4 --entries 15 150 --gpus 1 2 4 8 16
"""

from __future__ import annotations

import argparse
import heapq


def makespan(entry_seconds: list[float], gpus: int, overhead_s: float) -> float:
    """The wall time of entries handed out in order to the first free of ``gpus`` GPUs."""
    free_at = [0.0] * gpus
    for seconds in entry_seconds:
        heapq.heappush(free_at, heapq.heappop(free_at) + seconds + overhead_s)
    return max(free_at)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entry-s", type=float, nargs="+", required=True,
                   help="per-entry seconds (one value: every entry; several: one per generator, cycled)")
    p.add_argument("--overhead-s", type=float, default=0.0, help="the executor's overhead per entry")
    p.add_argument("--entries", type=int, nargs="+", required=True, help="entry counts to model")
    p.add_argument("--gpus", type=int, nargs="+", required=True, help="GPU counts to model")
    args = p.parse_args()
    print("| entries | " + " | ".join(f"{g} GPU{'s' * (g > 1)}" for g in args.gpus) + " |")
    print("| --- |" + " --- |" * len(args.gpus))
    for n in args.entries:
        times = [args.entry_s[i % len(args.entry_s)] for i in range(n)]
        hours = [makespan(times, g, args.overhead_s) / 3600 for g in args.gpus]
        print(f"| {n} | " + " | ".join(f"{h:.1f} h" for h in hours) + " |")


if __name__ == "__main__":
    main()
