"""``genbench history``: a metric's series over suite runs, a PNG plot, and a flag on an
out-of-line latest point (exit 1 when it is worse)."""

from __future__ import annotations

import argparse
import sys

from harness import history
from harness.commands.common import EXIT_FAILED, EXIT_OK, add_command, add_store_options, existing_store, output_file
from harness.limits import LOOKBACK, Z_SCORE, non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    hi = add_command(sub, "history",
                     "a metric's series over suite runs; flags an out-of-line latest point (exit 1 if worse)")
    hi.add_argument("--generator", "-g", type=non_empty, required=True, help="generator whose series to show")
    hi.add_argument("--metric", "-m", type=non_empty, required=True, help="metric name, as in the leaderboard's keys")
    hi.add_argument("--dataset", "-d", type=non_empty, default=None,
                    help="only this dataset (default: one series per dataset)")
    hi.add_argument("--budget", "-b", type=non_empty, default=None,
                    help="only this budget (default: one series per budget)")
    hi.add_argument("--by", choices=("date", "label"), default="date", help="how points are named")
    hi.add_argument("--lookback", type=LOOKBACK.arg, default=history.DEFAULT_LOOKBACK,
                    help="earlier points the latest is measured against")
    hi.add_argument("--z", type=Z_SCORE.arg, default=history.DEFAULT_Z,
                    help="|z-score| above which the latest is flagged")
    hi.add_argument("--plot", type=output_file(".png"), default=None,
                    help="PNG to write (default: OUT/history-GENERATOR-METRIC.png)")
    hi.add_argument("--format", choices=("md", "json"), default="md", help="output format")
    add_store_options(hi)


def run(args: argparse.Namespace) -> int:
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
