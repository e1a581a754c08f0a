"""``genbench db``: the results store itself. ``copy SRC DST`` moves a history between
SQLite and PostgreSQL, in either direction, losing nothing; ``info`` says where a store
is, its schema revision and what it holds."""

from __future__ import annotations

import argparse
import json
import sys

from harness.commands.common import EXIT_OK, add_command, add_json, add_store_options, existing_store, store_location


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = add_command(sub, "db", "the results store: copy a history between SQLite and PostgreSQL, or describe it")
    actions = d.add_subparsers(dest="db_command", required=True, parser_class=type(d))
    c = actions.add_parser("copy", help="copy every record of SRC into DST (created or upgraded as needed); rows "
                           "DST already holds are skipped", formatter_class=d.formatter_class)
    c.add_argument("source", type=store_location, metavar="SRC", help="an SQLite file or a postgresql:// URL")
    c.add_argument("destination", type=store_location, metavar="DST", help="an SQLite file or a postgresql:// URL")
    c.add_argument("--update", action="store_true",
                   help="a row DST holds with other values is replaced by SRC's (default: a conflict, exit 2, "
                        "nothing copied): for syncing a history again, after its runs went on")
    add_json(c)
    i = actions.add_parser("info", help="where the store is, its schema revision and how many records it holds",
                           formatter_class=d.formatter_class)
    add_store_options(i)
    add_json(i)


def run(args: argparse.Namespace) -> int:
    return _copy(args) if args.db_command == "copy" else _info(args)


def _copy(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.records import ResultsStore
    from harness.records.copy import copy_store
    from harness.records.location import StoreLocation

    source_location = StoreLocation.parse(args.source)
    if not source_location.exists():
        raise UsageError(f"no results database at {source_location}")
    source = ResultsStore(source_location, create=False)
    destination = ResultsStore(args.destination)
    try:
        report = copy_store(source, destination, update=args.update)
    finally:
        source.close()
        destination.close()
    if args.json:
        print(json.dumps({"source": source.where, "destination": destination.where, "copied": report.copied,
                          "already_there": report.already_there, "updated": report.updated}, indent=2))
    else:
        counts = ", ".join(f"{n} {table}" for table, n in report.copied.items())
        skipped, updated = sum(report.already_there.values()), sum(report.updated.values())
        print(f"copied {counts} from {source.where} to {destination.where}"
              + (f"; updated {updated} row(s) it held with other values" if updated else "")
              + (f" ({skipped} row(s) it already held were skipped)" if skipped else ""))
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    store = existing_store(args)
    revision, counts = store.revision(), store.counts()
    store.close()
    info = {"store": store.where, "backend": "sqlite" if store.location.is_sqlite else "postgresql",
            "revision": revision, **counts}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:<12} {value}", file=sys.stdout)
    return EXIT_OK
