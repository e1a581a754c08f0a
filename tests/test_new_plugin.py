"""``genbench new-plugin``: each kind's package is written, pip-installs, passes
``genbench check-plugin`` and its own generated test, and works in a smoke run (all four
at once: the generator trains on the dataset, the extractor measures it, the reporter
prints the table); a bad name, a taken name and an existing folder are refused."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from harness import cli, scaffold
from tests.helpers import genbench

# Names with a '-': the module and the class are named from it.
NAMES = {"generator": "np-model", "dataset": "np-data", "extractor": "np-feat", "reporter": "np-table"}
REGISTRIES = {"generator": "generators", "dataset": "datasets", "extractor": "feature_extractors",
              "reporter": "reporters"}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """The folder the four packages were written in, by the command itself."""
    root = tmp_path_factory.mktemp("new-plugin")
    for kind, name in NAMES.items():
        assert cli.main(["new-plugin", name, "--kind", kind, "--dir", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def installed(written) -> dict[str, str]:
    """The four packages installed with pip into a folder of their own (not into this
    environment, which other tests share); the environment that puts them on the path."""
    site = written / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install",
                    "--no-build-isolation", "--no-deps", "--target", site,
                    *(written / f"genbench-{name}" for name in NAMES.values())], check=True)
    return {"PYTHONPATH": str(site)}


@pytest.mark.parametrize("kind", NAMES)
def test_the_package_is_complete(written, kind):
    name = NAMES[kind]
    folder, module = written / f"genbench-{name}", f"genbench_{name.replace('-', '_')}"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(
        ["pyproject.toml", f"{module}.py", f"tests/test_{module.removeprefix('genbench_')}.py", "README.md"])
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"genbench-{name}" and project["project"]["dependencies"] == ["genbench"]
    assert project["project"]["entry-points"]["genbench"] == {name: module}
    readme = (folder / "README.md").read_text()
    assert "pip install" in readme and f"genbench check-plugin {name}" in readme and "genbench run " in readme


def test_the_packages_are_plugins_of_their_kind(installed):
    plugins = {p["name"]: p for p in json.loads(genbench("plugins", "--json", env=installed).stdout)}
    for kind, name in NAMES.items():
        assert plugins[name]["status"] == "ok", plugins[name]["error"]
        assert plugins[name][REGISTRIES[kind]] == [name]


def test_the_packages_pass_the_conformance_check(installed):
    result = genbench("check-plugin", *NAMES.values(), env=installed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "all checks passed" and "FAIL" not in result.stdout
    for name in NAMES.values():
        assert f"ok   {name}: " in result.stdout


def test_the_generated_tests_pass(written, installed):
    tests = [str(written / f"genbench-{name}" / "tests") for name in NAMES.values()]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                            capture_output=True, text=True, cwd=written, env={**os.environ, **installed}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_all_four_work_together_in_a_smoke_run(installed, tmp_path):
    """The generator trains on the dataset, the extractor measures it, and the reporter
    prints the leaderboard."""
    result = genbench("run", "-g", NAMES["generator"], "-d", NAMES["dataset"], "-b", "smoke",
                      "--format", NAMES["reporter"], "--out", tmp_path, "--no-report", env=installed)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| generator "))
    assert f"| fd-{NAMES['extractor']} ↓ " in header
    row = next(line for line in lines if line.startswith(f"| {NAMES['generator']} "))
    assert f"| {NAMES['dataset']} " in row and row.split("|")[-2].strip() == "ok"


def test_it_says_what_it_wrote_and_what_to_run_next(run_cli, tmp_path):
    where = tmp_path / "new" / "folder"  # created
    code, out, err = run_cli("new-plugin", "my_data", "--kind", "dataset", "--dir", where)
    assert code == 0, err
    folder = where / "genbench-my_data"
    for path in ("pyproject.toml", "genbench_my_data.py", "tests/test_my_data.py", "README.md"):
        assert f"  {folder / path}\n" in out
    assert f"pip install -e {folder}\n" in out and "genbench check-plugin my_data\n" in out
    assert "genbench run -g gaussian -d my_data -b smoke\n" in out


@pytest.mark.parametrize("name", ["a", "none", "class", "x-1_y", "z" * 40])
def test_every_name_it_takes_gives_valid_files(name):
    """Names that are Python keywords once capitalized or as they are, digits after a '-'."""
    for kind in scaffold.KINDS:
        for path, text in scaffold.files(kind, scaffold.names(name)).items():
            if path.endswith(".py"):
                ast.parse(text, path)
            elif path.endswith(".toml"):
                tomllib.loads(text)


@pytest.mark.parametrize("name", ["MyPlugin", "1plugin", "my plugin", "plugin-", "a:b", "ünï", "x" * 41])
def test_a_bad_name_is_refused(run_cli, tmp_path, name):
    code, _, err = run_cli("new-plugin", name, "--dir", tmp_path)
    assert code == 2 and err.startswith(f"genbench: error: plugin name {name!r}: use up to 40 lowercase letters")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_name_gets_a_suggestion(run_cli, tmp_path):
    _, _, err = run_cli("new-plugin", "My Plugin", "--dir", tmp_path)
    assert "(e.g. 'my-plugin')" in err


def test_an_existing_folder_is_not_overwritten(run_cli, tmp_path):
    (tmp_path / "genbench-mine").mkdir()
    (tmp_path / "genbench-mine" / "mine.py").write_text("# my work\n")
    code, _, err = run_cli("new-plugin", "mine", "--dir", tmp_path)
    assert code == 2 and "genbench-mine already exists: not overwriting it" in err
    assert [p.name for p in (tmp_path / "genbench-mine").iterdir()] == ["mine.py"]
    assert (tmp_path / "genbench-mine" / "mine.py").read_text() == "# my work\n"


@pytest.mark.parametrize(("name", "kind", "taken_by"), [
    ("gaussian", "generator", "generator 'gaussian' of plugin 'baselines'"),
    ("clocks", "dataset", "dataset 'clocks' of plugin 'builtins'"),
    ("md", "reporter", "reporter 'md' of plugin 'builtins'"),
    ("baselines", "dataset", "plugin 'baselines'"),
])
def test_a_name_an_installed_plugin_uses_is_refused(run_cli, tmp_path, name, kind, taken_by):
    code, _, err = run_cli("new-plugin", name, "--kind", kind, "--dir", tmp_path)
    assert code == 2 and f"the name {name!r} is taken by the installed {taken_by}" in err
    assert list(tmp_path.iterdir()) == []


def test_a_name_of_another_kind_is_free(run_cli, tmp_path):
    """A dataset may share a generator's name: the registries are separate."""
    assert run_cli("new-plugin", "gaussian", "--kind", "dataset", "--dir", tmp_path)[0] == 0
