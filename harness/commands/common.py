"""What the commands share: exit codes, the parser classes, the options every command
spells the same way (``--out``, ``--db``, ``--json``), and opening the results store."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError
from harness.limits import non_empty

if TYPE_CHECKING:  # the store imports torch: only the commands that use it pay for that
    from harness.records import ResultsStore
    from harness.records.location import StoreLocation

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_OUT = Path("runs")
DB_FILE = "genbench.sqlite"
DB_ENV = "GENBENCH_DB"


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, unless its help already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if "default" in (action.help or "") or action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """Reports a bad argument in genbench's one-line form, with exit code 2."""

    def error(self, message: str) -> None:
        from harness.records.location import hide_passwords

        # argparse echoes what it could not take, such as a --db URL given without --db.
        self.exit(EXIT_USAGE, f"genbench: error: {hide_passwords(message)}\n")


def add_command(sub: argparse._SubParsersAction, name: str, help: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand's parser, with the options every command takes (``-p no:NAME``)."""
    p = sub.add_parser(name, help=help, formatter_class=Formatter, **kwargs)
    add_plugin_option(p, "disabled_plugins")
    return p


def add_plugin_option(p: argparse.ArgumentParser, dest: str) -> None:
    """``-p no:NAME``, as in pytest: leave the plugin NAME out of this command. The main
    parser and each subcommand keep it under their own ``dest``, because a subcommand's
    default would otherwise overwrite what was given before the subcommand's name."""
    p.add_argument("-p", dest=dest, metavar="no:NAME", action="append", type=disabled_plugin, default=[],
                   help="disable the plugin NAME (repeatable; also $GENBENCH_DISABLE_PLUGINS=NAME,NAME)")


def disabled_plugin(text: str) -> str:
    """An argparse ``type=`` for ``-p no:NAME``: the plugin name."""
    from harness.disabled_plugins import parse_option

    try:
        return parse_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_store_options(p: argparse.ArgumentParser) -> None:
    """``--out`` (the run root) and ``--db`` (the results store), the same in every command."""
    p.add_argument("--out", type=folder, default=DEFAULT_OUT,
                   help="run root: run folders, leaderboards, reports and plots go here")
    p.add_argument("--db", type=store_location, default=None, metavar="PATH|URL",
                   help=f"results store: an SQLite file, or postgresql://user@host:port/dbname for a shared "
                        f"server (default: ${DB_ENV}, else OUT/{DB_FILE})")


def store_location(text: str) -> str:
    """An argparse ``type=`` for ``--db``: a file path (not a folder) or a server URL,
    kept as text (a URL is parsed when the store opens, and a password in it is never
    echoed back)."""
    from harness.records.location import looks_like_url

    return text if looks_like_url(non_empty(text)) else str(file_path(text))


def folder(text: str) -> Path:
    """An argparse ``type=`` for a folder genbench reads or creates: not empty, not a file."""
    path = Path(non_empty(text))
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def file_path(text: str, suffixes: tuple[str, ...] = ()) -> Path:
    """An argparse ``type=`` for a file genbench reads or writes: not empty, not a folder,
    and with one of ``suffixes`` when given (the format is chosen by it)."""
    path = Path(non_empty(text))
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if suffixes and path.suffix.lower() not in suffixes:
        raise argparse.ArgumentTypeError(f"{text}: expected a {' or '.join(suffixes)} file")
    return path


def can_create(path: Path, flag: str) -> None:
    """Fails, before anything is recorded, when ``path`` could not be created or written;
    creates nothing itself."""
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: {existing} is a file, not a folder")
    try:  # a real probe: permissions alone do not tell (root, read-only mounts, /proc)
        os.rmdir(tempfile.mkdtemp(prefix=".genbench-probe-", dir=existing))
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot create folders in {existing} ({exc.strerror or exc})") from None


def output_file(*suffixes: str):
    """``file_path`` with the suffixes a writer supports, for ``type=``."""

    def parse(text: str) -> Path:
        return file_path(text, suffixes)

    parse.__name__ = "file"  # argparse names the type in its messages
    return parse


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def db_location(args: argparse.Namespace) -> StoreLocation:
    """Where the results store is: ``--db``, then ``$GENBENCH_DB``, then ``OUT/genbench.sqlite``."""
    from harness.records.location import StoreLocation

    if args.db is not None:
        return StoreLocation.parse(args.db)
    if os.environ.get(DB_ENV):
        return StoreLocation.parse(os.environ[DB_ENV])
    return StoreLocation.parse(args.out / DB_FILE)


def open_store(args: argparse.Namespace) -> ResultsStore:
    """The results store, created if it does not exist yet (for commands that record)."""
    from harness.records import ResultsStore

    return ResultsStore(db_location(args))


def existing_store(args: argparse.Namespace) -> ResultsStore:
    """The results store for commands that only read: a missing file is bad input, not
    an empty database to create."""
    location = db_location(args)
    if not location.exists():
        raise UsageError(f"no results database at {location}; run `genbench run` first or pass --db")
    from harness.records import ResultsStore

    return ResultsStore(location, create=False)
