"""``genbench compare BASELINE CANDIDATE``: exit 0 when nothing got worse, 1 on a
regression, 2 on bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands.common import add_command, add_store_options, existing_store
from harness.compare import judge, policy, render, sources
from harness.compare.stats import TESTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "compare", "baseline vs candidate: what got worse, with significance (exit 1 on a regression)",
        description="Compares two sets of results metric by metric. BASELINE and CANDIDATE are run ids, "
                    "suite-run ids or labels (genbench run --label), or with --bench two pytest-benchmark "
                    "JSON files. Exit codes: 0 nothing got worse, 1 a regression, 2 bad input.")
    p.add_argument("baseline", help="run id, suite-run id or label (a JSON file with --bench)")
    p.add_argument("candidate", help="run id, suite-run id or label (a JSON file with --bench)")
    p.add_argument("--bench", action="store_true", help="compare two pytest-benchmark JSON files (make bench)")
    p.add_argument("--policy", type=Path, default=None, metavar="TOML",
                   help="factor, alpha, test and per-metric settings (see docs/regression-tracking.md)")
    p.add_argument("--factor", type=float, default=None,
                   help=f"ratio a change must pass to be called (default: the policy's, else {policy.DEFAULT_FACTOR})")
    p.add_argument("--alpha", type=float, default=None,
                   help=f"significance level (default: the policy's, else {policy.DEFAULT_ALPHA})")
    p.add_argument("--test", choices=TESTS, default=None,
                   help=f"significance test over seeds (default: the policy's, else {policy.DEFAULT_TEST})")
    p.add_argument("--fail-on", action="append", default=None, metavar="METRIC",
                   help="only these metrics (repeatable; shell patterns) make the exit code 1 (default: all)")
    p.add_argument("--format", choices=("md", "json"), default="md", help="output format")
    p.add_argument("--changes-only", action="store_true", help="print only rows with a mark")
    add_store_options(p)


def run(args: argparse.Namespace) -> int:
    rules = policy.load(args.policy, args.factor, args.alpha, args.test)
    if args.bench:
        base = sources.from_bench_json(Path(args.baseline))
        cand = sources.from_bench_json(Path(args.candidate))
    else:
        store = existing_store(args)
        base = sources.from_store(store, args.baseline)
        cand = sources.from_store(store, args.candidate)
    comparison = judge.compare(base, cand, rules)
    code = comparison.exit_code(args.fail_on)  # validates --fail-on before printing
    if args.format == "json":
        print(render.to_json(comparison), end="")
    else:
        print(render.markdown(comparison, args.changes_only), end="")
    return code
