"""The API reference (docs/reference/, built by `make docs`) has an entry for every
public name: every name of ``harness.__all__``, every hookspec, the leaderboard a
reporter renders and the conformance helpers. An entry is an autodoc directive naming
the object, so its text comes from the docstring; a new public name without one fails
here, cheaply, by reading the reference's sources (Sphinx itself runs in `make docs`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import harness
from harness import hookspecs
from harness.markers import PROJECT

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"

# `.. autoclass:: Name` (reST, or MyST's {eval-rst}) and ```{autoclass} Name``` (MyST).
DIRECTIVE = re.compile(r"^\s*(?:\.\.\s+(?P<rst>[\w:-]+)::|`{3,}\{(?P<md>[\w:-]+)\})[ \t]*(?P<arg>\S*)", re.M)
# What sets the module a relative target is looked up in, as Sphinx reads them.
MODULE_SETTERS = {"automodule", "module", "currentmodule", "py:module", "py:currentmodule"}
TOCTREE = re.compile(r"^`{3,}\{toctree\}[^\n]*\n(.*?)^`{3,}", re.M | re.S)


def documented() -> dict[str, str]:
    """Every autodoc target in the reference's sources, fully qualified, with the file
    that documents it."""
    found = {}
    for path in sorted(REFERENCE.rglob("*")):
        if path.suffix not in (".rst", ".md"):
            continue
        module = None
        for m in DIRECTIVE.finditer(path.read_text()):
            name, arg = m["rst"] or m["md"], m["arg"]
            if name in MODULE_SETTERS:
                module = arg
                if name == "automodule":
                    found[arg] = path.name
            elif name.startswith("auto") and arg:
                # A dotted target is absolute (autodoc reads `a.b.C` as module `a.b`);
                # a bare one is in the current module.
                found[arg if "." in arg or module is None else f"{module}.{arg}"] = path.name
    return found


def conformance_names() -> list[str]:
    """The public names of harness.conformance: its ``__all__``, or (a module without
    one) the functions and classes it defines under names without an underscore."""
    mod = importlib.import_module("harness.conformance")
    if hasattr(mod, "__all__"):
        return list(mod.__all__)
    return [name for name, obj in vars(mod).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__.startswith(mod.__name__)]


def public_names() -> list[str]:
    hooks = [name for name, fn in vars(hookspecs).items() if hasattr(fn, f"{PROJECT}_spec")]
    return ([f"harness.{name}" for name in harness.__all__]
            + [f"harness.hookspecs.{name}" for name in hooks]
            + ["harness.leaderboard.Leaderboard", "harness.leaderboard.Column"]
            + [f"harness.conformance.{name}" for name in conformance_names()])


def resolve(target: str) -> object:
    """The object a fully qualified name names: the longest importable module prefix,
    then attributes."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(target)


def test_the_reference_parses():
    # Guards the parsing above: were it to find nothing, every other test would be vacuous.
    found = documented()
    assert "harness.Generator" in found and "harness.hookspecs.genbench_generators" in found, found


def test_every_public_name_has_a_reference_entry():
    found = documented()
    missing = [name for name in public_names() if name not in found]
    assert not missing, ("public names without an autodoc entry in docs/reference/ (add e.g. "
                         f"`.. autoclass:: Name` to the page of its module): {missing}")


def test_every_reference_entry_names_an_object():
    # A renamed or removed name fails here, not only when `make docs` runs autodoc.
    broken = []
    for target, page in documented().items():
        try:
            resolve(target)
        except (ImportError, AttributeError) as exc:
            broken.append(f"{page}: {target} ({type(exc).__name__}: {exc})")
    assert not broken, f"autodoc targets in docs/reference/ that do not exist: {broken}"


def test_every_docs_page_is_in_the_site():
    # Sphinx only warns about a page outside every toctree (an error under -W in `make
    # docs`); here a new page without an entry fails without building the site.
    docs = ROOT / "docs"
    listed = set()
    for page in docs.rglob("*.md"):
        for block in TOCTREE.findall(page.read_text()):
            entries = [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith(":")]
            listed |= {(page.parent / entry).relative_to(docs).as_posix() for entry in entries}
    pages = {p.relative_to(docs).with_suffix("").as_posix() for ext in ("*.md", "*.rst") for p in docs.rglob(ext)}
    missing = sorted(pages - listed - {"index"})
    assert not missing, f"docs pages in no toctree (add them to docs/index.md): {missing}"
