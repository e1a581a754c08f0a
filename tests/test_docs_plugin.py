"""The four complete plugins in docs/plugin-authors.md (a generator, a dataset, a feature
extractor and a leaderboard format) are each built as a package, pip-installed, listed,
checked, and exercised under the smoke budget; the last three are exactly what
``genbench new-plugin`` writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from harness import scaffold
from tests.helpers import genbench

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugin-authors.md"
# Each example package: its plugin (and item) name, and what it provides.
EXAMPLES = {"pixelstats": "generators", "stripes": "datasets", "randconv": "feature_extractors", "rst": "reporters"}
SCAFFOLDED = {"stripes": "dataset", "randconv": "extractor", "rst": "reporter"}


def doc_packages() -> dict[str, dict[str, str]]:
    """The doc's ``<!-- file: PACKAGE/PATH -->`` blocks: {package folder: {path: text}}."""
    packages: dict[str, dict[str, str]] = defaultdict(dict)
    for path, text in re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", DOC.read_text(), flags=re.S):
        package, _, inner = path.partition("/")
        packages[package][inner] = text
    return dict(packages)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The doc's packages, installed with pip into a folder of their own; the environment
    that puts them on the path of a genbench subprocess. (Not into this environment:
    other tests, here or in a process beside this one, would see four more plugins.)"""
    root = tmp_path_factory.mktemp("doc-plugins")
    packages = doc_packages()
    assert set(packages) == {f"genbench-{name}" for name in EXAMPLES}
    for package, files in packages.items():
        for path, text in files.items():
            (root / package / path).parent.mkdir(parents=True, exist_ok=True)
            (root / package / path).write_text(text)
    site = root / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install",
                    "--no-build-isolation", "--no-deps", "--target", site, *(root / p for p in sorted(packages))],
                   check=True)
    return {"PYTHONPATH": str(site)}


def test_the_examples_are_what_new_plugin_writes():
    packages = doc_packages()
    for name, kind in SCAFFOLDED.items():
        written = scaffold.files(kind, scaffold.names(name))
        shown = packages[f"genbench-{name}"]
        assert set(shown) == {"pyproject.toml", f"genbench_{name}.py"}
        for path, text in shown.items():
            assert text == written[path], f"docs/plugin-authors.md: genbench-{name}/{path} differs from new-plugin's"


def test_the_examples_are_listed(installed):
    plugins = {p["name"]: p for p in json.loads(genbench("plugins", "--json", env=installed).stdout)}
    for name, kind in EXAMPLES.items():
        assert plugins[name]["status"] == "ok", plugins[name]["error"]
        assert plugins[name][kind] == [name]
        assert plugins[name]["version"] == "0.1.0"


def test_the_conformance_helpers_example_passes(installed, tmp_path):
    section = DOC.read_text().split("## The conformance check", 1)[1]
    (tmp_path / "test_example.py").write_text(re.findall(r"```python\n(.*?)```", section, flags=re.S)[-1])
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
                            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **installed}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_examples_pass_the_conformance_check(installed):
    result = genbench("check-plugin", *EXAMPLES, env=installed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "all checks passed"
    for name in EXAMPLES:
        assert f"ok   {name}: " in result.stdout


def test_the_four_run_together_under_smoke(installed, tmp_path):
    """The generator trains on the dataset, the extractor measures it, and the reporter
    prints the leaderboard."""
    result = genbench("run", "-g", "pixelstats", "-d", "stripes", "-b", "smoke", "--format", "rst",
                      "--out", tmp_path, "--no-report", env=installed)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| generator "))
    assert "| fd-randconv ↓ " in header and "| kid-randconv ↓ " in header
    row = next(line for line in lines if line.startswith("| pixelstats "))
    assert "| stripes " in row and row.split("|")[-2].strip() == "ok"
    assert any(line.startswith("+====") for line in lines)
    # The same table from the database, through `genbench leaderboard`.
    board = genbench("leaderboard", "--format", "rst", "--out", tmp_path, env=installed)
    assert board.returncode == 0, board.stderr
    assert row in board.stdout.splitlines()
