"""Plugins the user turned off for one command: ``-p no:NAME`` (as in pytest) and
``GENBENCH_DISABLE_PLUGINS=NAME,NAME``. A disabled plugin is not even imported, so it
also switches off one that breaks on import."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "GENBENCH_DISABLE_PLUGINS"
PREFIX = "no:"


def from_env() -> set[str]:
    """The plugin names ``$GENBENCH_DISABLE_PLUGINS`` lists (comma or space separated)."""
    return {name for name in os.environ.get(ENV, "").replace(",", " ").split() if name}


def parse_option(text: str) -> str:
    """The plugin name of a ``-p no:NAME`` value; a ValueError for anything else."""
    name = text[len(PREFIX):].strip() if text.startswith(PREFIX) else ""
    if not name or any(c in name for c in ", \t"):
        raise ValueError("-p takes no:NAME, to disable the one plugin NAME as `genbench plugins` lists it (repeat -p "
                         f"for more), got {text!r}")
    return name


def unknown(names: list[str]) -> list[str]:
    """The names no installed plugin has (an entry point's name, or NAME@DISTRIBUTION)."""
    if not names:  # every command calls this: no scan of the installed distributions for nothing
        return []
    import importlib.metadata as md

    from harness.markers import PROJECT

    installed = set()
    for ep in md.entry_points(group=PROJECT):
        installed |= {ep.name, f"{ep.name}@{ep.dist.name if getattr(ep, 'dist', None) else '?'}"}
    return sorted(set(names) - installed)


@contextmanager
def disabled(names: list[str]) -> Iterator[None]:
    """Adds ``names`` to ``$GENBENCH_DISABLE_PLUGINS`` while a command runs, so that its
    plugin host and every worker process it starts leave them out; the environment is
    as it was afterwards (``main`` may be called again in one process)."""
    before = os.environ.get(ENV)
    if names:
        os.environ[ENV] = ",".join(sorted(from_env() | set(names)))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
