"""docs/regression-tracking.md's commands, run verbatim: every ```sh block, in order, in
one bash session with `set -euo pipefail`, in a scratch directory that has the checkout's
bench/ (and what it imports) linked in. A command that fails fails the test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "regression-tracking.md"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_every_genbench_command_the_doc_names_is_run():
    text = DOC.read_text()
    script = "\n".join(sh_blocks(text))
    named = set(re.findall(r"`genbench (\w+)", text))
    run = set(re.findall(r"^genbench (\w+)", script, flags=re.M))
    assert named == {"compare", "history", "report", "run"}
    assert named <= run


@pytest.mark.long
def test_the_ci_recipe_runs_as_written(tmp_path):
    for name in ("bench", "tests", "pyproject.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    script = "set -euo pipefail\n" + "\n".join(sh_blocks(DOC.read_text()))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    assert "\ncompare exited with 0" in done.stdout
    assert re.search(r"bench compare exited with [01]\n", done.stdout)  # timings: either may happen
    compare = json.loads((tmp_path / "compare.json").read_text())
    rows = {(r["subject"], r["metric"]): r for r in compare["rows"]}
    assert rows[("clock", "fd-clocknet")]["baseline"]["n"] == 3
    assert rows[("clock", "fd-clocknet")]["ratio"] == 1.0  # same seeds, same machine, same numbers
    assert "## clock · clocks · budget smoke · fd-clocknet" in done.stdout
    assert (tmp_path / "runs" / "history-clock-fd-clocknet.png").stat().st_size > 0
    html = (tmp_path / "report" / "index.html").read_text()
    assert html.count('<tr data-run="') == 6 and 'id="compare-table"' in html
    assert json.loads((tmp_path / "bench-candidate.json").read_text())["benchmarks"]
