"""Every hookspec is typed, documented with an example, described in
docs/plugin-authors.md, and exercised by a test of its own (as datasette does)."""

from __future__ import annotations

import inspect
from pathlib import Path

from harness import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = [name for name, fn in vars(hookspecs).items() if name.startswith("genbench_") and callable(fn)]


def test_there_are_hooks():
    assert {"genbench_generators", "genbench_datasets", "genbench_metrics", "genbench_reporters",
            "genbench_run_started", "genbench_run_finished"} <= set(HOOKS)


def test_every_hook_is_typed_and_has_an_example():
    for name in HOOKS:
        fn = getattr(hookspecs, name)
        sig = inspect.signature(fn)
        assert sig.return_annotation is not inspect.Signature.empty, name
        assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()), name
        assert "Example::" in (fn.__doc__ or ""), name


def test_every_hook_is_documented():
    doc = (ROOT / "docs" / "plugin-authors.md").read_text()
    missing = [name for name in HOOKS if f"`{name}" not in doc]
    assert not missing, f"hooks missing from docs/plugin-authors.md: {missing}"


def test_every_hook_has_a_test():
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py") if p.name != "test_hookspecs.py")
    missing = [name for name in HOOKS if name not in tests]
    assert not missing, f"hooks without a test: {missing}"
