"""The complete plugin in docs/plugin-authors.md is built as a package, pip-installed
into this environment, listed, checked, and run under the smoke budget."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import genbench

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugin-authors.md"


def doc_files() -> dict[str, str]:
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", DOC.read_text(), flags=re.S)
    return dict(blocks)


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    pkg = tmp_path_factory.mktemp("genbench-pixelstats")
    files = doc_files()
    assert set(files) == {"pyproject.toml", "genbench_pixelstats.py"}
    for name, text in files.items():
        (pkg / name).write_text(text)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-build-isolation", "--no-deps", str(pkg)], check=True)
    try:
        yield pkg
    finally:
        subprocess.run([*pip, "uninstall", "-y", "genbench-pixelstats"], check=True)


def test_example_is_listed(installed_example):
    plugins = {p["name"]: p for p in json.loads(genbench("plugins", "--json").stdout)}
    assert plugins["pixelstats"]["status"] == "ok"
    assert plugins["pixelstats"]["generators"] == ["pixelstats"]
    assert plugins["pixelstats"]["version"] == "0.1.0"


def test_example_passes_the_conformance_check(installed_example):
    result = genbench("check-plugin", "pixelstats")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout


def test_example_runs_under_smoke(installed_example, tmp_path):
    result = genbench("run", "-g", "pixelstats", "-b", "smoke", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| pixelstats | clocks | 0 |" in result.stdout and "| ok |" in result.stdout
