"""How ``genbench run`` and ``genbench leaderboard`` print a leaderboard: on a terminal,
the fitted table (``harness.terminal_view``); in a pipe, a log or with ``--format``,
the reporter's text exactly as it is written to the files."""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import TYPE_CHECKING

from harness.errors import UsageError
from harness.limits import non_empty

if TYPE_CHECKING:
    from harness.api import Reporter
    from harness.leaderboard import Leaderboard
    from harness.plugins import Host

AUTO = "auto"


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default=AUTO,
                   help="leaderboard format on stdout: term (a table fitted to the terminal), md, csv, json or a "
                        "plugin's (default: term on a terminal, else md)")
    p.add_argument("--rank-by", type=non_empty, default=None, metavar="METRIC",
                   help="rank the rows by this metric (default: what each run recorded: its suite's rank_by, "
                        "else its dataset's metric, e.g. fd-clocknet on clocks); genbench run records it with each run")
    p.add_argument("--wide", action="store_true", help="the terminal table with every column that has a value")
    p.add_argument("--columns", type=_column_list, default=(), metavar="NAME,NAME",
                   help="the terminal table with exactly these columns (keys or headers, as the hidden-column "
                        "note lists them)")


def _column_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


def reporter(host: Host, args: argparse.Namespace) -> Reporter:
    """The reporter the arguments ask for; an unknown format fails here, before anything runs."""
    if args.format != AUTO:
        chosen = host.reporter(args.format)
        if (args.wide or args.columns) and not _is_terminal_view(chosen):
            raise UsageError(f"--wide and --columns choose the terminal table's columns; --format {args.format} "
                             "keeps every column")
        return chosen
    terminal = sys.stdout.isatty() or args.wide or bool(args.columns)
    return host.reporter("builtins:term" if terminal else "builtins:md")


def show(chosen: Reporter, board: Leaderboard, args: argparse.Namespace, more: str, end: str = "",
         strict: bool = True) -> None:
    """Prints ``board`` on stdout; ``more`` says where the columns the terminal hides are,
    ``end`` what follows a reporter's text; ``strict``: an unknown --columns name is an error."""
    if not _is_terminal_view(chosen):
        print(chosen.render(board), end=end)
        return
    from rich.console import Console

    from harness.terminal_view import MAX_WIDTH, View

    width = min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns, MAX_WIDTH)  # $COLUMNS, else the terminal's
    console = Console(file=sys.stdout, width=width, highlight=False)
    chosen.show(console, board, View(width, args.wide, args.columns, more, strict))


def _is_terminal_view(chosen: Reporter) -> bool:
    from harness.reporters import TerminalReporter

    return isinstance(chosen, TerminalReporter)
