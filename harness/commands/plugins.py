"""``genbench plugins``: the plugins found, what each provides, which are broken (with
their tracebacks under ``--traceback``) or disabled, and the names two plugins provide
(clashes, picked with ``plugin:name``)."""

from __future__ import annotations

import argparse
import json

from harness.commands.common import EXIT_OK, add_command, add_json

KINDS = ("generators", "datasets", "feature_extractors", "metrics", "reporters", "executors")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "plugins", "list plugins and what they provide")
    p.add_argument("--traceback", "-v", action="store_true",
                   help="show the full traceback of each broken plugin's failure")
    add_json(p)


def run(args: argparse.Namespace) -> int:
    from harness.plugins import KIND_WORDS, Host

    infos = [p.as_dict() for p in Host(quiet=True).plugins.values()]
    if not args.traceback:
        for p in infos:
            p.pop("traceback")
    if args.json:
        print(json.dumps(infos, indent=2))
        return EXIT_OK
    for p in infos:
        print(f"{p['name']} {p['version']}  [{p['status']}]  from {p['source']}")
        if p["error"]:
            print(f"    error: {p['error']}")
        if p.get("traceback"):
            print("    " + p["traceback"].rstrip().replace("\n", "\n    "))
        if p["hooks"]:
            print(f"    hooks: {', '.join(p['hooks'])}")
        for kind in KINDS:
            if p.get(kind):
                print(f"    {kind}: {', '.join(p[kind])}")
        for c in p["conflicts"]:
            print(f"    conflicts: {KIND_WORDS[c['kind']]} {c['name']!r} also provided by "
                  f"{', '.join(map(repr, c['also_provided_by']))} (pick with plugin:name)")
    return EXIT_OK
