"""``genbench run``: train and measure generators under a budget, or ``--resume`` an
interrupted run; then print the leaderboard and write its files and the HTML report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.commands import board_output
from harness.commands.common import (
    DEFAULT_OUT,
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    add_store_options,
    can_create,
    db_location,
    existing_store,
    file_path,
    folder,
    open_store,
)
from harness.limits import SEED, SEED_COUNT, Bound, label, non_empty

JOBS = Bound(1, 1024, "--jobs")


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = add_command(sub, "run", "train and measure generators under a budget")
    r.add_argument("--suite", type=non_empty, default=None,
                   help="built-in suite name or suite TOML file (default: quick, unless --generator is given)")
    r.add_argument("--generator", "-g", type=non_empty, action="append", default=None,
                   help="generator(s) to run (repeatable; default: every entry of the suite)")
    r.add_argument("--dataset", "-d", type=non_empty, default=None,
                   help="dataset for every entry (default: the suite's, or clocks)")
    r.add_argument("--budget", "-b", type=non_empty, default=None, help="smoke, quick, standard or a budget TOML file "
                   "(default: the suite's)")
    r.add_argument("--seed", "-s", type=SEED.arg, action="append", default=None,
                   help="seed(s) (repeatable; default: the suite's)")
    r.add_argument("--seeds", type=SEED_COUNT.arg, default=None, help="run seeds 0..N-1")
    r.add_argument("--device", type=non_empty, default="auto", help="cpu, cuda or auto")
    r.add_argument("--label", type=label, default=None, help="a label for this suite run (for compare/history)")
    r.add_argument("--resume", type=non_empty, default=None, metavar="RUN",
                   help="finish an interrupted suite run (its id), or continue one run (id or directory)")
    r.add_argument("--isolation", choices=("process", "none"), default=None,
                   help="process (the default): each entry in a worker process of its own (a plugin cannot hang, "
                        "crash or end the suite); none: in this process, one entry at a time, for debugging under "
                        "pdb")
    r.add_argument("--executor", type=non_empty, default="local", metavar="NAME",
                   help="where entries run: local (worker processes on this machine), ray (a Ray cluster), or one "
                        "a plugin adds (genbench plugins lists them)")
    r.add_argument("--jobs", "-j", type=JOBS.arg, default=None, metavar="N",
                   help="local executor: N entries at once, each worker on a GPU of its own where there are several "
                        "(default: the GPU count on CUDA, else 1)")
    r.add_argument("--ray-address", type=non_empty, default=None, metavar="ADDR",
                   help="ray executor: the cluster's address (HOST:PORT, or auto for the one this machine is part "
                        "of; default: a Ray instance started on this machine for this run)")
    board_output.add_options(r)
    r.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                   help="write the HTML report to OUT/report-SUITE.html")
    r.add_argument("--tensorboard", type=folder, default=None, metavar="DIR",
                   help="log losses, metrics, throughput and sample grids for TensorBoard under DIR")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    r.add_argument("--data-dir", type=folder, default=None, metavar="DIR",
                   help="where the mnist/fashion-mnist/cifar10 files are (default: $GENBENCH_DATA, then ./data)")
    r.add_argument("--fid-weights", type=file_path, default=None, metavar="PATH",
                   help="FID Inception weights file (default: $GENBENCH_FID_WEIGHTS, then the torch hub cache)")
    r.add_argument("--dry-run", action="store_true",
                   help="validate the suite and print its runs, then stop: nothing is trained or recorded")
    add_store_options(r)


def run(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.plans import plan_suite
    from harness.plugins import Host
    from harness.runner import resolve_device

    if args.rank_by is not None and args.resume is not None:
        raise UsageError("--rank-by chooses how a new suite run is ranked, and each run recorded its own; "
                         "`genbench leaderboard --rank-by METRIC` shows a finished one ranked by another")
    if args.dry_run and args.resume is not None:
        raise UsageError("--dry-run plans a new suite run; `genbench runs SUITE_RUN` lists what --resume would do")
    _pass_settings_on(args)
    host = Host()
    device = resolve_device(args.device)
    reporter = board_output.reporter(host, args)  # an unknown format fails before anything runs
    executor = _executor(args, host, device)  # so does an unknown executor, or a setting it does not take
    if args.resume is not None:  # only a database that exists holds something to resume
        runner = _runner(args, host, existing_store(args), device, executor)
        suite_run, _ = runner.resume(args.resume)
        suite = runner.store.suite_run(suite_run).suite
    else:
        from harness import records, suite_overrides

        suite_spec = suite_overrides.select(host, suite_overrides.Overrides(
            args.suite, tuple(args.generator or ()), args.dataset, args.budget, tuple(args.seed or ()), args.seeds,
            args.rank_by))
        plans = plan_suite(host, suite_spec)  # every input is validated before anything is recorded
        # A database that exists is checked before anything is created; a new one is
        # created last.
        # (opened as a writer: another genbench may have just created it, still empty)
        store = open_store(args) if db_location(args).exists() else None
        if args.dry_run:
            can_create(args.out, "--out")
            _print_plan(suite_spec, plans, device)
            return EXIT_OK
        records.check_writable(args.out)
        executor.prepare()  # connected (to a cluster) before a new store is created
        runner = _runner(args, host, store or open_store(args), device, executor)
        print(f"genbench: suite {suite_spec.name!r}, budget {suite_spec.budget.name!r}, {len(plans)} run(s) "
              f"on {device}", file=sys.stderr)
        suite_run, _ = runner.run_suite(suite_spec, plans, args.label)
        suite = suite_spec.name
    board, where = _write_outputs(args, host, runner.store, suite_run, suite)
    board_output.show(reporter, board, args, f"{where.leaderboards[0]}{' or the report' if where.report else ''}",
                      end="\n", strict=False)
    sys.stdout.flush()
    # The records of the whole suite run decide the exit code, not what a worker said.
    runs = runner.store.runs(suite_run=suite_run)
    failed = [r for r in runs if r.status != "ok"]
    for run in failed:
        print(f"genbench: run {run.id} {run.status}: {run.reason} (details in {run.run_dir / 'error.txt'})",
              file=sys.stderr)
    from harness import closing_summary

    closing_summary.write(closing_summary.lines(board, runs, where, suite, suite_run,
                                                _rerun_args(args, runs, runner.store.suite_run(suite_run).options.get(
                                                    "source", "(command line)"))))
    return EXIT_FAILED if failed else EXIT_OK


def _print_plan(suite, plans, device) -> None:
    source = "" if suite.source == "(command line)" else f" ({suite.source})"
    print(f"suite {suite.name!r}{source}, budget {suite.budget.name!r}: {len(plans)} run(s) on {device}")
    for k, plan in enumerate(plans, 1):
        samplers = f", then sampled with {', '.join(map(str, plan.samplers))}" if plan.samplers else ""
        print(f"  [{k}/{len(plans)}] {plan.generator.name} · {plan.dataset} · seed {plan.seed}{samplers}")
    print("nothing recorded (--dry-run)", file=sys.stderr)


def _executor(args: argparse.Namespace, host, device):
    """The executor ``--executor`` names, built from the flags it takes."""
    from harness.api import ExecutorSettings

    spec = host.executor(args.executor)
    return spec.factory(ExecutorSettings(args.jobs, args.ray_address, args.isolation, str(device),
                                         str(db_location(args))))


def _runner(args: argparse.Namespace, host, store, device, executor):
    from harness.entry_log import EntryLog
    from harness.runner import SuiteRunner

    width = os.get_terminal_size(sys.stderr.fileno()).columns if sys.stderr.isatty() else None
    return SuiteRunner(host, store, args.out, device, args.progress, args.tensorboard, args.isolation or "process",
                       EntryLog(store, sys.stderr, width), executor, args.executor)


def _rerun_args(args: argparse.Namespace, runs, source: str) -> list[str]:
    """The arguments that choose this suite again (its seeds left to the caller);
    ``source``: the suite's file or built-in name, as recorded."""
    if args.resume is not None:
        from harness import suites

        first, name = runs[0], runs[0].options.get("suite", "")
        builtin = name in suites.builtin_names() and Path(source) == suites.builtin_path(name)
        chosen = (["--suite", name if builtin else source] if source != "(command line)" else
                  [f for g in dict.fromkeys(r.generator for r in runs) for f in ("-g", g)]
                  + ["-d", first.dataset, "--budget", first.budget])
    else:
        chosen = ["--suite", args.suite] if args.suite else []
        chosen += [f for g in args.generator or () for f in ("-g", g)]
        chosen += ["-d", args.dataset] if args.dataset else []
        chosen += ["--budget", args.budget] if args.budget else []
    if args.out != DEFAULT_OUT:
        chosen += ["--out", str(args.out)]
    if args.db is not None:
        chosen += ["--db", str(db_location(args))]  # a URL without its password
    return chosen


def _pass_settings_on(args: argparse.Namespace) -> None:
    """Flags that every later lookup reads from the environment, checked before anything
    is recorded."""
    from harness.errors import UsageError
    from harness.metrics import inception

    if args.fid_weights is not None:
        if not args.fid_weights.is_file():
            raise UsageError(f"--fid-weights {args.fid_weights}: no such file")
        try:
            inception.verify(args.fid_weights)
        except inception.WeightsError as exc:
            raise UsageError(str(exc)) from exc
        os.environ[inception.PATH_ENV] = str(args.fid_weights.resolve())
    if args.tensorboard is not None:
        from harness.tensorboard import check_available

        check_available()
        can_create(args.tensorboard, "--tensorboard")
    if args.isolation != "none":  # the grace of a worker's phases, and of a Ray task's
        from harness.supervisor import grace_s

        grace_s()
    if args.data_dir is not None:
        from harness.datasets.files import DATA_ENV

        os.environ[DATA_ENV] = str(args.data_dir.resolve())


def _write_outputs(args: argparse.Namespace, host, store, suite_run: str, suite: str):
    """The suite run's leaderboard, its files and, unless --no-report, its HTML report."""
    from harness import leaderboard
    from harness.atomic import write_atomic
    from harness.closing_summary import Where
    from harness.errors import OutputFailed

    runs = store.runs(suite_run=suite_run)
    board = leaderboard.build(store, runs, f"{suite} · {suite_run}")
    files = []
    for name in ("md", "csv", "json"):
        path = args.out / f"leaderboard-{suite}.{name}"
        try:
            write_atomic(path, host.reporter(f"builtins:{name}").render(board))
        except OSError as exc:
            raise OutputFailed(f"cannot write {path}: {exc.strerror or exc}; the results are in {store.where}") from exc
        files.append(path)
    page = None
    if args.report:
        from harness import report

        page = report.write(args.out / f"report-{suite}.html", report.render(store, runs, f"genbench: {board.title}"))
    return board, Where(files, store.where, page)
