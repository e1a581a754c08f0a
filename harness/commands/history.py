"""``genbench history``: a metric's series over suite runs, a PNG plot, and a flag on an
out-of-line latest point (exit 1 when it is worse)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import history
from harness.commands.common import EXIT_FAILED, EXIT_OK, add_command, add_store_options, existing_store


def add_parser(sub: argparse._SubParsersAction) -> None:
    hi = add_command(sub, "history",
                     "a metric's series over suite runs; flags an out-of-line latest point (exit 1 if worse)")
    hi.add_argument("--generator", "-g", required=True, help="generator whose series to show")
    hi.add_argument("--metric", "-m", required=True, help="metric name, as in the leaderboard's keys")
    hi.add_argument("--dataset", "-d", default=None, help="only this dataset (default: one series per dataset)")
    hi.add_argument("--budget", "-b", default=None, help="only this budget (default: one series per budget)")
    hi.add_argument("--by", choices=("date", "label"), default="date", help="how points are named")
    hi.add_argument("--lookback", type=int, default=history.DEFAULT_LOOKBACK,
                    help="earlier points the latest is measured against")
    hi.add_argument("--z", type=float, default=history.DEFAULT_Z, help="|z-score| above which the latest is flagged")
    hi.add_argument("--plot", type=Path, default=None,
                    help="PNG to write (default: OUT/history-GENERATOR-METRIC.png)")
    hi.add_argument("--format", choices=("md", "json"), default="md", help="output format")
    add_store_options(hi)


def run(args: argparse.Namespace) -> int:
    import math

    from harness.errors import UsageError

    if args.lookback < history.MIN_HISTORY:
        raise UsageError(f"--lookback must be at least {history.MIN_HISTORY}, got {args.lookback}")
    if not (math.isfinite(args.z) and args.z > 0):
        raise UsageError(f"--z must be a positive number, got {args.z}")
    all_series = history.load(existing_store(args), args.generator, args.metric, args.dataset, args.budget)
    flags = [history.judge_latest(s, args.lookback, args.z) for s in all_series]
    plot = history.plot(all_series, flags, args.plot or args.out / f"history-{args.generator}-{args.metric}.png",
                        args.by)
    if args.format == "json":
        print(history.dump(all_series, flags, args.z), end="")
    else:
        for series, flag in zip(all_series, flags, strict=True):
            print(history.markdown(series, flag, args.z, args.by))
    print(f"genbench: plot written to {plot}", file=sys.stderr)
    return EXIT_FAILED if any(f.verdict == "worse" for f in flags) else EXIT_OK
