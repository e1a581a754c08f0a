"""The ``genbench`` command line. Exit codes: 0 success, 1 a run or check failed,
2 bad input (a one-line error naming the problem), 130 interrupted (resumable)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_OUT = Path("runs")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, unless its help already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if "default" in (action.help or "") or action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well
        self.exit(EXIT_USAGE, f"genbench: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    fmt = _Formatter
    p = _ArgumentParser(prog="genbench", description="Benchmark harness for image generative models.",
                        formatter_class=fmt)
    p.add_argument("--version", action="version", version=f"genbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    def common(sp, db=True):
        sp.add_argument("--out", type=Path, default=DEFAULT_OUT, help="run root directory")
        if db:
            sp.add_argument("--db", type=Path, default=None, help="results database (default: OUT/genbench.sqlite)")

    r = sub.add_parser("run", help="train and measure generators under a budget", formatter_class=fmt)
    r.add_argument("--suite", default=None, help="built-in suite name or suite TOML file (default: quick, "
                   "unless --generator is given)")
    r.add_argument("--generator", "-g", action="append", default=None,
                   help="generator(s) to run (repeatable; default: every entry of the suite)")
    r.add_argument("--dataset", "-d", default=None, help="dataset for every entry (default: the suite's, or clocks)")
    r.add_argument("--budget", "-b", default=None, help="smoke, quick, standard or a budget TOML file "
                   "(default: the suite's)")
    r.add_argument("--seed", "-s", type=int, action="append", default=None,
                   help="seed(s) (repeatable; default: the suite's)")
    r.add_argument("--seeds", type=int, default=None, help="run seeds 0..N-1")
    r.add_argument("--device", default="auto", help="cpu, cuda or auto")
    r.add_argument("--label", default=None, help="a label for this suite run (for compare/history)")
    r.add_argument("--resume", default=None, metavar="RUN", help="continue an interrupted run (id or directory)")
    r.add_argument("--format", default="md", help="leaderboard format printed to stdout")
    r.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                   help="write the HTML report to OUT/report-SUITE.html")
    r.add_argument("--tensorboard", type=Path, default=None, metavar="DIR",
                   help="log losses, metrics, throughput and sample grids for TensorBoard under DIR")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    r.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="where the mnist/fashion-mnist/cifar10 files are (default: $GENBENCH_DATA, then ./data)")
    r.add_argument("--fid-weights", type=Path, default=None, metavar="PATH",
                   help="FID Inception weights file (default: $GENBENCH_FID_WEIGHTS, then the torch hub cache)")
    common(r)

    lb = sub.add_parser("leaderboard", help="print a leaderboard from the results database", formatter_class=fmt)
    lb.add_argument("--suite", default=None, help="suite name or label: its latest suite run")
    lb.add_argument("--suite-run", default=None, help="a suite run id")
    lb.add_argument("--runs", nargs="+", default=None, help="run ids")
    lb.add_argument("--format", default="md", help="md, csv, json or a plugin's format")
    common(lb)

    pl = sub.add_parser("plugins", help="list plugins and what they provide", formatter_class=fmt)
    pl.add_argument("--json", action="store_true", help="machine-readable output")

    en = sub.add_parser("env", help="versions, devices, ops backends, FID weight lookup", formatter_class=fmt)
    en.add_argument("--json", action="store_true", help="machine-readable output")

    ck = sub.add_parser("clock", help="draw a clock with a trained clock generator", formatter_class=fmt)
    ck.add_argument("time", help="HH:MM:SS, e.g. 11:10:30")
    ck.add_argument("--out", "-o", type=Path, default=Path("clock.png"), help="PNG to write")
    ck.add_argument("--run", default=None, help="run id (default: the latest finished clocks run)")
    ck.add_argument("--runs-dir", type=Path, default=DEFAULT_OUT, help="run root the results are under")
    ck.add_argument("--db", type=Path, default=None, help="results database (default: RUNS_DIR/genbench.sqlite)")

    w = sub.add_parser("weights", help="the FID Inception weights: where they are, or fetch them",
                       formatter_class=fmt)
    wsub = w.add_subparsers(dest="weights_command", required=True, parser_class=_ArgumentParser)
    ws = wsub.add_parser("status", help="what is found where, and whether it verifies (exit 1: none usable)",
                         formatter_class=fmt)
    ws.add_argument("--json", action="store_true", help="machine-readable output")
    wf = wsub.add_parser("fetch", help="download the weights and verify their SHA-256 (needs a network)",
                         formatter_class=fmt)
    wf.add_argument("--url", default=None, help="where to download from (default: pytorch-fid's release)")
    wf.add_argument("--dest", type=Path, default=None, help="file to write (default: the torch hub cache)")

    from harness.compare import command as compare_command

    compare_command.add_parser(sub, fmt, common)

    from harness import history

    hi = sub.add_parser("history", formatter_class=fmt,
                        help="a metric's series over suite runs; flags an out-of-line latest point (exit 1 if worse)")
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
    common(hi)

    rp = sub.add_parser("report", formatter_class=fmt,
                        help="a self-contained HTML report: leaderboard, samples, curves, environment, compare")
    rp.add_argument("runs", nargs="*", metavar="RUNS",
                    help="run ids, suite-run ids or labels (default: the latest suite run, or --suite's)")
    rp.add_argument("--suite", default=None, help="the latest suite run of this suite (name or label)")
    rp.add_argument("--compare", nargs=2, default=None, metavar=("BASELINE", "CANDIDATE"),
                    help="add genbench compare's table for these two sets")
    rp.add_argument("--title", default=None, help="page title (default: what was selected)")
    rp.add_argument("--out", type=Path, default=Path("report"), help="directory to write index.html into")
    rp.add_argument("--db", type=Path, default=DEFAULT_OUT / "genbench.sqlite", help="results database")

    cp = sub.add_parser("check-plugin", help="conformance check of a plugin's generators", formatter_class=fmt)
    cp.add_argument("name", help="plugin name (as in `genbench plugins`) or generator name")
    cp.add_argument("--dataset", default="clocks", help="dataset to check on")
    cp.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from harness.errors import UsageError
    from harness.plugins import PluginLoadError

    args = _parser().parse_args(argv)
    handler = {
        "run": _cmd_run, "leaderboard": _cmd_leaderboard, "plugins": _cmd_plugins, "env": _cmd_env,
        "clock": _cmd_clock, "check-plugin": _cmd_check_plugin, "weights": _cmd_weights,
        "compare": _cmd_compare, "history": _cmd_history, "report": _cmd_report,
    }[args.command]
    try:
        return handler(args)
    except UsageError as exc:
        print(f"genbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PluginLoadError as exc:
        print(f"genbench: error: {exc} (GENBENCH_PLUGINS_STRICT is set)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("genbench: interrupted; what was recorded is kept (resume with genbench run --resume RUN)",
              file=sys.stderr)
        return EXIT_INTERRUPTED


def _store(args):
    from harness.results import ResultsStore

    return ResultsStore(args.db or args.out / "genbench.sqlite")


def _existing_store(args):
    """The results database for commands that only read: a missing file is bad input,
    not an empty database to create."""
    from harness.errors import UsageError

    path = args.db or args.out / "genbench.sqlite"
    if not path.exists():
        raise UsageError(f"no results database at {path}; run `genbench run` first or pass --db")
    return _store(args)


def _cmd_compare(args) -> int:
    from harness.compare import command

    return command.run(args, _existing_store)


# -- run -------------------------------------------------------------------------------

def _select_suite(args, host):
    from harness import budgets, suites
    from harness.errors import UsageError

    if args.suite or not args.generator:
        suite = suites.load(args.suite or "quick")
        if args.generator:
            missing = [g for g in args.generator if g not in {e.generator for e in suite.entries}]
            if missing:
                host.generator(missing[0])  # unknown anywhere: say so with the list of names
                raise UsageError(f"suite {suite.name!r} has no entry for generator(s) {', '.join(missing)}")
            suite.entries = [e for e in suite.entries if e.generator in args.generator]
    else:
        budget = budgets.resolve(args.budget or "quick")
        entries = [suites.Entry(g, args.dataset or "clocks") for g in args.generator]
        suite = suites.Suite("adhoc", budget, entries, budget.seeds)
    if args.budget:
        suite.budget = budgets.resolve(args.budget)
        if not args.suite or args.generator:
            suite.seeds = suite.budget.seeds
    if args.dataset:
        suite.entries = [suites.Entry(e.generator, args.dataset, {}, e.config, e.seeds, e.samplers)
                         if e.dataset != args.dataset else e for e in suite.entries]
    if args.seeds is not None:
        if args.seeds < 1:
            raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
        suite.seeds = tuple(range(args.seeds))
    if args.seed:
        suite.seeds = tuple(args.seed)
    if args.seed or args.seeds:
        suite.entries = [suites.Entry(e.generator, e.dataset, e.dataset_options, e.config, None, e.samplers)
                         for e in suite.entries]
    return suite


def _cmd_run(args) -> int:
    from harness import leaderboard, rundir
    from harness.plugins import Host
    from harness.runner import SuiteRunner, plan_suite, resolve_device

    if args.fid_weights is not None:
        _use_fid_weights(args.fid_weights)
    if args.tensorboard is not None:
        from harness.tensorboard import check_available

        check_available()
    if args.data_dir is not None:
        import os

        from harness.datasets.files import DATA_ENV

        os.environ[DATA_ENV] = str(args.data_dir.resolve())
    host = Host()
    device = resolve_device(args.device)
    reporter = host.reporter(args.format)
    if args.resume:
        runner = SuiteRunner(host, _store(args), args.out, device, args.progress, args.tensorboard)
        outcomes = runner.resume(args.resume)
        row = runner.store.run(outcomes[0].run_id)
        runs = runner.store.runs(suite_run=row["suite_run"])
        board = leaderboard.build(runner.store, runs, f"suite run {row['suite_run']}")
        _write_outputs(args, host, runner.store, runs, board, json.loads(row["options"])["suite"])
        print(reporter.render(board))
        return EXIT_OK if all(o.status == "ok" for o in outcomes) else EXIT_FAILED
    suite = _select_suite(args, host)
    plans = plan_suite(host, suite)  # every input is validated before anything is recorded
    rundir.check_writable(args.out)
    runner = SuiteRunner(host, _store(args), args.out, device, args.progress, args.tensorboard)
    print(f"genbench: suite {suite.name!r}, budget {suite.budget.name!r}, {len(plans)} run(s) on {device}",
          file=sys.stderr)
    suite_run, outcomes = runner.run_suite(suite, plans, args.label)
    runs = runner.store.runs(suite_run=suite_run)
    board = leaderboard.build(runner.store, runs, f"{suite.name} · budget {suite.budget.name} · {suite_run}")
    _write_outputs(args, host, runner.store, runs, board, suite.name)
    print(reporter.render(board))
    failed = [o for o in outcomes if o.status != "ok"]
    for o in failed:
        print(f"genbench: run {o.run_id} failed: {o.reason} (details in {o.run_dir / 'error.txt'})",
              file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _write_outputs(args, host, store, runs, board, suite: str) -> None:
    """The suite's leaderboard files and, unless --no-report, its HTML report."""
    for name in ("md", "csv", "json"):
        (args.out / f"leaderboard-{suite}.{name}").write_text(host.reporter(name).render(board))
    if args.report:
        from harness import report

        page = report.render(store, runs, f"genbench: {board.title}")
        print(f"genbench: report written to {report.write(args.out / f'report-{suite}.html', page)}",
              file=sys.stderr)


def _use_fid_weights(path: Path) -> None:
    """--fid-weights: checked before anything is recorded, then passed on the way
    every lookup reads it."""
    import os

    from harness.errors import UsageError
    from harness.metrics import inception

    if not path.is_file():
        raise UsageError(f"--fid-weights {path}: no such file")
    try:
        inception.verify(path)
    except inception.WeightsError as exc:
        raise UsageError(str(exc)) from exc
    os.environ[inception.PATH_ENV] = str(path.resolve())


def _cmd_history(args) -> int:
    from harness import history
    from harness.errors import UsageError

    if args.lookback < history.MIN_HISTORY:
        raise UsageError(f"--lookback must be at least {history.MIN_HISTORY}, got {args.lookback}")
    if args.z <= 0:
        raise UsageError(f"--z must be positive, got {args.z}")
    all_series = history.load(_existing_store(args), args.generator, args.metric, args.dataset, args.budget)
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


def _cmd_report(args) -> int:
    from harness import report
    from harness.compare import judge, policy, sources
    from harness.errors import UsageError

    store = _existing_store(args)
    if args.runs:
        found = [sources.resolve_runs(store, ref) for ref in args.runs]
        runs = list({r["id"]: r for rows, _ in found for r in rows}.values())
        title = args.title or "genbench report: " + ", ".join(what for _, what in found)
    else:
        row = store.latest_suite_run(args.suite)
        if row is None:
            raise UsageError(f"no {'suite ' + repr(args.suite) if args.suite else 'suite run'} in {store.path}")
        runs = store.runs(suite_run=row["id"])
        title = args.title or f"genbench report: {row['suite']} · budget {row['budget']} · {row['id']}"
    comparison = None
    if args.compare:
        base, cand = (sources.from_store(store, ref) for ref in args.compare)
        comparison = judge.compare(base, cand, policy.load(None))
    path = report.write(args.out / "index.html", report.render(store, runs, title, comparison))
    print(f"{path}: {len(runs)} run(s)")
    return EXIT_OK


# -- leaderboard -----------------------------------------------------------------------

def _cmd_leaderboard(args) -> int:
    from harness import leaderboard
    from harness.errors import UsageError
    from harness.plugins import Host

    host = Host()
    reporter = host.reporter(args.format)
    store = _existing_store(args)
    if args.runs:
        runs = store.runs(run_ids=args.runs)
        missing = set(args.runs) - {r["id"] for r in runs}
        if missing:
            raise UsageError(f"unknown run id(s): {', '.join(sorted(missing))}")
        title = "selected runs"
    else:
        row = (store.db.execute("SELECT * FROM suite_runs WHERE id = ?", (args.suite_run,)).fetchone()
               if args.suite_run else store.latest_suite_run(args.suite))
        if row is None:
            what = (f"suite run {args.suite_run!r}" if args.suite_run
                    else f"suite {args.suite!r}" if args.suite else "suite run")
            raise UsageError(f"no {what} in {store.path}")
        runs = store.runs(suite_run=row["id"])
        title = f"{row['suite']} · budget {row['budget']} · {row['id']}"
    print(reporter.render(leaderboard.build(store, runs, title)), end="")
    return EXIT_OK


# -- plugins / env ---------------------------------------------------------------------

def _cmd_plugins(args) -> int:
    from harness.plugins import Host

    host = Host()
    infos = [p.as_dict() for p in host.plugins.values()]
    if args.json:
        print(json.dumps(infos, indent=2))
        return EXIT_OK
    for p in infos:
        print(f"{p['name']} {p['version']}  [{p['status']}]  from {p['source']}")
        if p["error"]:
            print(f"    error: {p['error']}")
        if p["hooks"]:
            print(f"    hooks: {', '.join(p['hooks'])}")
        for kind in ("generators", "datasets", "feature_extractors", "metrics", "reporters"):
            if p.get(kind):
                print(f"    {kind}: {', '.join(p[kind])}")
    return EXIT_OK


def _cmd_env(args) -> int:
    from harness import env
    from harness.metrics import inception

    info = env.collect()
    info["fid_weights"] = [vars(place) for place in inception.locations()]
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return EXIT_OK
    for k, v in info["versions"].items():
        print(f"{k:12s} {v}")
    print(f"{'device':12s} {info['device_name']}; CUDA available: {info['cuda_available']}")
    print(f"{'ops':12s} built: {', '.join(info['ops_built'])}; GENBENCH_OPS={info['ops_setting']}; "
          f"CPU tensors use: {info['ops_backend']}")
    if info["ops_load_error"]:
        print(f"{'':12s} extension not loaded: {info['ops_load_error']}")
    print(f"{'git':12s} {info['git_commit'] or '(not a git checkout)'}")
    print("FID weights looked up in order:")
    print("\n".join(inception.describe_locations()))
    return EXIT_OK


def _cmd_weights(args) -> int:
    from harness.errors import UsageError
    from harness.metrics import inception

    if args.weights_command == "fetch":
        try:
            path = inception.fetch(args.url or inception.WEIGHTS_URL, args.dest)
        except inception.WeightsError as exc:
            print(f"genbench: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except OSError as exc:
            raise UsageError(f"cannot download {args.url or inception.WEIGHTS_URL}: {exc}") from exc
        print(f"{path}: FID Inception weights, SHA-256 {inception.WEIGHTS_SHA256} verified")
        return EXIT_OK
    places = [vars(place) for place in inception.locations()]
    try:
        used, problem = str(inception.weights_lookup()), None
    except (inception.WeightsError, OSError) as exc:
        used, problem = None, str(exc)
    if args.json:
        print(json.dumps({"locations": places, "using": used, "unavailable": problem,
                          "sha256": inception.WEIGHTS_SHA256}, indent=2, default=str))
    else:
        print(f"FID Inception weights ({inception.WEIGHTS_FILE}, SHA-256 {inception.WEIGHTS_SHA256[:16]}…), "
              "looked up in order:")
        print("\n".join(inception.describe_locations()))
        print(f"using {used} (verified)" if used else f"FID unavailable: {problem}")
    return EXIT_OK if used else EXIT_FAILED


# -- clock -----------------------------------------------------------------------------

def _cmd_clock(args) -> int:
    import torch

    from harness import images, rundir
    from harness.datasets import clocks
    from harness.errors import UsageError
    from harness.plugins import Host
    from harness.results import ResultsStore
    from harness.rng import SampleRNG

    h, m, s = clocks.parse_time(args.time)
    host = Host()
    db = args.db or args.runs_dir / "genbench.sqlite"
    if not db.exists():
        raise UsageError(f"no results database at {db}: train a clock generator first (make run)")
    store = ResultsStore(db)
    if args.run:
        row = store.run(args.run)
        if row is None:
            raise UsageError(f"no run {args.run!r} in {store.path}")
    else:
        candidates = [r for r in reversed(store.runs()) if r["status"] == "ok" and r["dataset"] == "clocks"
                      and r["generator"] in host.generators and host.generators[r["generator"]].conditional]
        if not candidates:
            raise UsageError(f"no finished run of a conditional generator on clocks in {store.path}")
        row = candidates[0]
    options = json.loads(row["options"])
    gen_cls = host.generator(row["generator"])
    ckpt = rundir.latest_checkpoint(Path(row["run_dir"]))
    if ckpt is None:
        raise UsageError(f"run {row['id']} has no checkpoint in {row['run_dir']}")
    opts = dict(options["dataset_options"])
    dataset = host.dataset("clocks").build(seed=opts.pop("split_seed", 0), **opts)
    gen = gen_cls(dataset, torch.device("cpu"), options["config"])
    gen.load_state_dict(rundir.load_checkpoint(ckpt)["generator"])
    for module in gen.modules().values():
        module.eval()
    seconds = torch.tensor([(h % 12) * 3600 + m * 60 + s])
    with torch.no_grad():
        drawn = gen.sample(1, SampleRNG(0, 0, 1), clocks.time_features(seconds)).float()
    truth = clocks.render(seconds, dataset.resolution, dataset.channels)
    try:
        images.save_png(images.grid(torch.cat([drawn, truth]), nrow=2), args.out, upscale=4)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from exc
    print(f"{args.out}: {args.time} drawn by {row['generator']} (run {row['id']}), ground truth on the right")
    return EXIT_OK


# -- check-plugin ----------------------------------------------------------------------

def _cmd_check_plugin(args) -> int:
    from harness.conformance import check_generator
    from harness.errors import UsageError
    from harness.plugins import Host
    from harness.runner import resolve_device

    host = Host()
    if args.name in host.plugins:
        info = host.plugins[args.name]
        if info.broken:
            print(f"FAIL plugin {args.name}: {info.error}")
            return EXIT_FAILED
        names = info.provides.get("generators", [])
        if not names:
            raise UsageError(f"plugin {args.name!r} provides no generators")
    elif args.name in host.generators:
        names = [args.name]
    else:
        raise UsageError(f"no plugin or generator {args.name!r}; plugins: {', '.join(sorted(host.plugins))}")
    spec = host.dataset(args.dataset)
    dataset = spec.build(seed=0, **spec.defaults)
    device = resolve_device(args.device)
    failed = 0
    for name in names:
        for r in check_generator(host.generators[name], dataset, device):
            print(f"{'ok  ' if r.ok else 'FAIL'} {name}: {r.check}" + (f"\n       {r.message}" if r.message else ""))
            failed += not r.ok
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
