"""Sphinx configuration: `make docs` builds docs/ into build/docs.

The prose pages stay Markdown (myst-parser reads them as they are, so they still read
well on GitHub); docs/reference/ is generated from the docstrings with autodoc, so the
reference cannot drift from the code. CI builds with warnings as errors (-W -n).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
from pathlib import Path

from sphinx.pycode import ModuleAnalyzer

import harness

project = "genbench"
author = "genbench contributors"
copyright = "genbench contributors"
release = version = harness.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
# No napoleon: the API's docstrings are reST, none Google or NumPy style, and napoleon
# reads a ``#:`` attribute comment's "text: more" as "type: description", turning
# "What SSIM means for this generator: ..." into a broken type reference.

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"

# A page may link to a section (`[hooks](#hooks)`, `[x](budgets.md#named-budgets)`) as
# GitHub renders it: myst then makes the same slug anchors, down to this heading level.
myst_heading_anchors = 4

# Reference entries in source order (the order the module presents them in), type hints
# in the signatures (short names: ``Tensor``, not ``torch.Tensor``).
autodoc_member_order = "bysource"
autodoc_typehints_format = "short"
# No "Bases: object" under every dataclass: TensorSplit names its base itself.
autodoc_default_options = {"members": True}

# Nitpicky (-n): every cross-reference must resolve, except into the libraries the
# signatures name (torch.Tensor, pathlib.Path, collections.abc.Callable): their own
# inventories would need intersphinx and a network, and the build must work offline.
nitpick_ignore_regex = [
    ("py:class", r"torch\..*"),
    ("py:class", r"pathlib\..*"),
    ("py:class", r"collections\.abc\..*"),
]

html_theme = "alabaster"
html_title = f"genbench {release}"


def _dataclass_defaults(app, what, name, obj, options, signature, return_annotation):
    """A dataclass field with a ``default_factory`` shows its default as ``<factory>``,
    which is no Python expression: Sphinx then cannot parse the signature and (nitpicky)
    reports each half of ``dict[str, Any]`` as a missing class. Show what the factory
    makes (``{}``, ``[]``) instead, which is also what a reader wants to know."""
    if what != "class" or not signature or not dataclasses.is_dataclass(obj):
        return None
    for f in dataclasses.fields(obj):
        if f.init and f.default_factory is not dataclasses.MISSING:
            try:
                made = repr(f.default_factory())
            except Exception:  # a factory that needs more than nothing: say only that it has one
                made = "..."
            signature = signature.replace("<factory>", made, 1)
    return signature, return_annotation


def _imported(module: str) -> dict[str, str]:
    """The names ``module`` imports with ``from x import name``, each with its ``x``."""
    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text())
    return {alias.asname or alias.name: node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}


def _data_docs(app, what, name, obj, options, lines):
    """A constant has no docstring of its own: autodoc takes the ``#:`` comment above its
    assignment, but only in the module it is documented under. ``harness.hookimpl`` and
    ``harness.API_VERSION`` are assigned in the modules harness/__init__.py imports them
    from, so take the comment from there; without one, show nothing rather than the
    docstring of the object's type (pluggy's "instantiate it with a project_name", or
    str's)."""
    module, _, attr = name.rpartition(".")
    if what != "data" or module != "harness":
        return
    source = _imported(module).get(attr)
    comment = source and ModuleAnalyzer.for_module(source).find_attr_docs().get(("", attr))
    if comment:
        lines[:] = [*comment, ""]
    elif _text(lines) == _text(inspect.cleandoc(type(obj).__doc__ or "").splitlines()):
        lines[:] = []


def _text(lines: list[str]) -> list[str]:
    return [line for line in lines if line.strip()]


def setup(app):
    app.connect("autodoc-process-signature", _dataclass_defaults)
    app.connect("autodoc-process-docstring", _data_docs)
