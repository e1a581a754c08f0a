"""``genbench new-plugin NAME``: writes a working plugin package to start from, of one
kind (a generator, a dataset, a feature extractor or a leaderboard format), with its
conformance test and a README; the templates are in ``harness.scaffold``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from harness import scaffold
from harness.commands.common import EXIT_OK, add_command, can_create, folder
from harness.limits import non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    np = add_command(sub, "new-plugin", "write a working plugin package (genbench-NAME/) to start from")
    np.add_argument("name", type=non_empty, metavar="NAME",
                    help="the plugin's name, which also names what it provides; the package is genbench-NAME")
    np.add_argument("--kind", choices=scaffold.KINDS, default="generator", help="what the plugin provides")
    np.add_argument("--dir", type=folder, default=Path("."), help="the folder to write genbench-NAME/ in")


def run(args: argparse.Namespace) -> int:
    from harness.errors import OutputFailed, UsageError

    plugin = scaffold.names(args.name)
    target = args.dir / plugin.dist
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists: not overwriting it (remove it, or choose another --dir or name)")
    can_create(target, "--dir")
    _refuse_taken(args.kind, plugin)
    texts = scaffold.files(args.kind, plugin)
    try:
        target.mkdir(parents=True)
    except FileExistsError:  # made by someone else since the check above
        raise UsageError(f"{target} already exists: not overwriting it") from None
    try:
        for relative, text in texts.items():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_text(text, encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)  # ours alone: it did not exist before
        raise OutputFailed(f"cannot write {target}: {exc.strerror or exc}; nothing was kept") from exc
    print(f"wrote plugin {plugin.name!r} (kind: {args.kind}) to {target}/:")
    for relative in texts:
        print(f"  {target / relative}")
    print("next:")
    for command in scaffold.next_commands(args.kind, plugin, target):
        print(f"  {command}")
    return EXIT_OK


def _refuse_taken(kind: str, plugin: scaffold.Names) -> None:
    """A UsageError when an installed plugin already has the new plugin's name, or
    provides something of its kind by that name: the two would clash, and neither be
    usable by the bare name."""
    from harness.errors import UsageError
    from harness.plugins import KIND_WORDS, Host

    host = Host()
    registry = scaffold.REGISTRY[kind]
    taken = [f"plugin {p!r} ({host.plugins[p].source})" for p in host.plugins if p.split("@")[0] == plugin.name]
    taken += [f"{KIND_WORDS[registry]} {plugin.name!r} of plugin {p!r}" for p in host.providers(registry, plugin.name)]
    if taken:
        raise UsageError(f"the name {plugin.name!r} is taken by the installed {' and '.join(taken)}; "
                         "a second one would clash with it, so choose another name (or uninstall that plugin)")
