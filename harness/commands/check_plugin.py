"""``genbench check-plugin NAME``: the conformance check of a plugin's generators."""

from __future__ import annotations

import argparse

from harness.commands.common import EXIT_FAILED, EXIT_OK, add_command
from harness.limits import non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    cp = add_command(sub, "check-plugin", "conformance check of a plugin's generators")
    cp.add_argument("name", type=non_empty, help="plugin name (as in `genbench plugins`) or generator name")
    cp.add_argument("--dataset", type=non_empty, default="clocks", help="dataset to check on")
    cp.add_argument("--device", default="cpu", help="cpu, cuda or auto")


def run(args: argparse.Namespace) -> int:
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
        gen_cls = host.generator(f"{args.name}:{name}" if args.name in host.plugins else name)
        for r in check_generator(gen_cls, dataset, device):
            print(f"{'ok  ' if r.ok else 'FAIL'} {name}: {r.check}" + (f"\n       {r.message}" if r.message else ""))
            failed += not r.ok
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return EXIT_FAILED if failed else EXIT_OK
