"""``genbench check-plugin NAME``: the conformance check of what a plugin provides (its
generators, datasets, feature extractors and reporters), or of one of them by name."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.commands.common import EXIT_FAILED, EXIT_OK, add_command
from harness.limits import non_empty

if TYPE_CHECKING:
    from harness.api import Dataset
    from harness.conformance import CheckResult
    from harness.plugins import Host

# The kinds the check covers, in the order they are checked; metrics have no check.
CHECKED = ("generators", "datasets", "feature_extractors", "reporters")
MARK = {"ok": "ok  ", "fail": "FAIL", "skip": "skip"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    cp = add_command(sub, "check-plugin", "conformance check of a plugin's generators, datasets, feature "
                                          "extractors and reporters")
    cp.add_argument("names", type=non_empty, nargs="+", metavar="NAME",
                    help="plugin name (as in `genbench plugins`), or a generator, dataset, feature extractor or "
                         "reporter name; several are checked in one go")
    cp.add_argument("--dataset", type=non_empty, default="clocks",
                    help="dataset to check generators and feature extractors on")
    cp.add_argument("--device", default="cpu", help="cpu, cuda or auto")


def _named(host: Host, name: str) -> list[tuple[str, str, str]]:
    """(kind, plain name, name to look it up by) of everything called ``name``."""
    from harness.errors import UsageError
    from harness.plugins import KIND_WORDS

    plugin, plain = host.split_name(name)
    found = [(kind, plain, name) for kind in CHECKED
             if (plugin in host.providers(kind, plain) if plugin else host.providers(kind, plain))]
    if not found:
        words = ", ".join(KIND_WORDS[kind] for kind in CHECKED[:-1]) + f" or {KIND_WORDS[CHECKED[-1]]}"
        if plugin:
            raise UsageError(f"plugin {plugin!r} provides no {words} {plain!r}")
        raise UsageError(f"no plugin, {words} {name!r}; plugins: {', '.join(sorted(host.plugins))}")
    return found


def _provided(host: Host, plugin: str) -> list[tuple[str, str, str]]:
    """(kind, plain name, name to look it up by) of everything ``plugin`` provides that
    the check covers; says in one line that its metrics are not checked."""
    from harness.errors import UsageError

    info = host.plugins[plugin]
    found = [(kind, name, f"{plugin}:{name}") for kind in CHECKED for name in info.provides.get(kind, [])]
    # An extractor's FD, KID and coverage columns are checked with the extractor.
    from harness.metrics.feature_metrics import metrics_for

    columns = {m.name for e in info.provides.get("feature_extractors", [])
               for m in metrics_for(host.feature_extractor(f"{plugin}:{e}"))}
    metrics = [m for m in info.provides.get("metrics", []) if m not in columns]
    if metrics:
        print(f"note {plugin}: metrics have no conformance check ({len(metrics)} not checked: {', '.join(metrics)})")
    if not found:
        raise UsageError(f"plugin {plugin!r} provides no generator, dataset, feature extractor or reporter to check")
    return found


def _check(host: Host, kind: str, ref: str, args: argparse.Namespace,
           dataset: Callable[[], Dataset]) -> list[CheckResult]:
    """The checks of the item ``ref`` of ``kind``; ``dataset`` gives what generators and
    extractors are checked on."""
    from harness import conformance
    from harness.runner import resolve_device

    if kind == "generators":
        from harness.requirements import DatasetShape, mismatch

        cls, data = host.generator(ref), dataset()
        unfit = mismatch(cls, DatasetShape.of(data), args.dataset)
        if unfit:
            return [conformance.CheckResult(cls.name, "the dataset it is checked on fits it", "skip",
                                            f"{unfit}; check it on another with --dataset")]
        return conformance.check_generator(cls, data, resolve_device(args.device))
    if kind == "datasets":
        return conformance.check_dataset(host.dataset(ref))
    if kind == "feature_extractors":
        return conformance.check_extractor(host.feature_extractor(ref), dataset(), resolve_device(args.device))
    return conformance.check_reporter(host.reporter(ref))


def _print(name: str, result: CheckResult) -> None:
    lines = [f"{MARK[result.status]} {name}: {result.check}"]
    lines += [f"       {line}" for line in result.message.splitlines()]
    print("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.plugins import Host

    host = Host(quiet=True)  # a broken plugin is reported below, once
    items, failed, skipped = [], 0, 0
    for name in dict.fromkeys(args.names):
        info = host.plugins.get(name)
        if info is None:
            items += _named(host, name)
        elif info.disabled:
            raise UsageError(f"plugin {name!r} is disabled (-p no:{name} or $GENBENCH_DISABLE_PLUGINS)")
        elif info.broken:
            print(f"FAIL plugin {name}: {info.error}")
            failed += 1
        else:
            items += _provided(host, name)
    built: list[Dataset] = []

    def dataset() -> Dataset:
        # Built once, and only when a generator or an extractor needs it.
        if not built:
            spec = host.dataset(args.dataset)
            built.append(spec.build(seed=0, **spec.defaults))
        return built[0]

    for kind, name, ref in items:
        for result in _check(host, kind, ref, args, dataset):
            _print(name, result)
            failed += result.status == "fail"
            skipped += result.status == "skip"
    skips = f" ({skipped} skipped)" if skipped else ""
    print(f"{failed} check(s) failed{skips}" if failed else f"all checks passed{skips}")
    return EXIT_FAILED if failed else EXIT_OK
