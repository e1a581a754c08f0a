"""``genbench leaderboard``: a leaderboard from the results database."""

from __future__ import annotations

import argparse

from harness.commands import board_output
from harness.commands.common import EXIT_OK, add_command, add_store_options, existing_store
from harness.limits import non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    lb = add_command(sub, "leaderboard", "print a leaderboard from the results database")
    lb.add_argument("--suite", type=non_empty, default=None, help="suite name or label: its latest suite run")
    lb.add_argument("--suite-run", type=non_empty, default=None, help="a suite run id")
    lb.add_argument("--runs", type=non_empty, nargs="+", default=None, help="run ids")
    lb.add_argument("--per-seed", action="store_true",
                    help="one row per run; by default the seeds of a generator are one row, mean ± spread over seeds")
    board_output.add_options(lb)
    add_store_options(lb)


def run(args: argparse.Namespace) -> int:
    from harness import leaderboard
    from harness.errors import UsageError
    from harness.plugins import Host

    reporter = board_output.reporter(Host(), args)
    store = existing_store(args)
    if args.runs:
        runs = store.runs(run_ids=args.runs)
        missing = set(args.runs) - {r.id for r in runs}
        if missing:
            raise UsageError(f"unknown run id(s): {', '.join(sorted(missing))}")
        title = "selected runs"
    else:
        record = store.suite_run(args.suite_run) if args.suite_run else store.latest_suite_run(args.suite)
        if record is None:
            what = (f"suite run {args.suite_run!r}" if args.suite_run
                    else f"suite {args.suite!r}" if args.suite else "suite run")
            raise UsageError(f"no {what} in {store.where}")
        runs = store.runs(suite_run=record.id)
        title = f"{record.suite} · {record.id}"
    board_output.show(reporter, leaderboard.build(store, runs, title, args.rank_by, per_seed=args.per_seed), args,
                      "--format md|csv|json or `genbench report`")
    return EXIT_OK
