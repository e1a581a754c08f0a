"""``genbench report``: a self-contained HTML page for any selection of runs."""

from __future__ import annotations

import argparse

from harness.commands.common import EXIT_OK, add_command, add_store_options, existing_store, output_file
from harness.limits import non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    rp = add_command(sub, "report", "a self-contained HTML report: leaderboard, samples, curves, environment, "
                     "compare")
    rp.add_argument("runs", type=non_empty, nargs="*", metavar="RUNS",
                    help="run ids, suite-run ids or labels (default: the latest suite run, or --suite's)")
    rp.add_argument("--suite", type=non_empty, default=None, help="the latest suite run of this suite (name or label)")
    rp.add_argument("--compare", type=non_empty, nargs=2, default=None, metavar=("BASELINE", "CANDIDATE"),
                    help="add genbench compare's table for these two sets")
    rp.add_argument("--rank-by", type=non_empty, default=None, metavar="METRIC",
                    help="rank the leaderboard by this metric (default: what each run recorded)")
    rp.add_argument("--title", default=None, help="page title (default: what was selected)")
    rp.add_argument("--html", type=output_file(".html", ".htm"), default=None, metavar="FILE",
                    help="page to write (default: OUT/report-SUITE.html for a suite run, else OUT/report.html)")
    add_store_options(rp)


def run(args: argparse.Namespace) -> int:
    from harness import report
    from harness.compare import judge, policy, sources
    from harness.errors import UsageError

    store = existing_store(args)
    if args.runs:
        selections = [store.resolve(ref) for ref in args.runs]
        runs = list({r.id: r for s in selections for r in s.runs}.values())
        title = args.title or "genbench report: " + ", ".join(s.description for s in selections)
        default = args.out / "report.html"
    else:
        record = store.latest_suite_run(args.suite)
        if record is None:
            raise UsageError(f"no {'suite ' + repr(args.suite) if args.suite else 'suite run'} in {store.where}")
        runs = store.runs(suite_run=record.id)
        title = args.title or f"genbench report: {record.suite} · budget {record.budget} · {record.id}"
        default = args.out / f"report-{record.suite}.html"
    comparison = None
    if args.compare:
        base, cand = (sources.from_store(store, ref) for ref in args.compare)
        comparison = judge.compare(base, cand, policy.load(None))
    path = report.write(args.html or default, report.render(store, runs, title, comparison, args.rank_by))
    print(f"{path}: {len(runs)} run(s)")
    return EXIT_OK
