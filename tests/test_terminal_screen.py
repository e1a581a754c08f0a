"""What a person sees: ``genbench run`` in a real terminal (a tmux pane of 100 and of 200
columns), read back from the screen. No line wraps, the hidden-column note is there,
and so are the per-entry lines and the closing summary."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

pytestmark = pytest.mark.tmux
REQUIRE_ENV = "GENBENCH_REQUIRE_TMUX"
DONE = "GENBENCH-TEST-EXIT="


@pytest.fixture
def tmux(tmp_path):
    """``tmux`` on a server of this test's own (its own socket), killed afterwards."""
    if not shutil.which("tmux"):
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but there is no tmux on PATH (apt-get install tmux)")
        pytest.skip("no tmux on PATH (apt-get install tmux)")
    socket = tmp_path / "tmux.sock"

    def run(*args: str) -> str:
        return subprocess.run(["tmux", "-S", str(socket), *args], check=True, capture_output=True, text=True,
                              timeout=30).stdout

    yield run
    subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, timeout=30)


def _screen(tmux, command: str, width: int, cwd: Path, timeout: float = 300) -> tuple[str, str]:
    """Runs ``command`` in a ``width``-column pane until it ends; returns the screen with
    its history as shown, and the same with tmux's wrapped lines joined."""
    # $COLUMNS would override the pane's width; a real shell does not export it.
    shell = f"env -u COLUMNS -u LINES {command}; echo {DONE}$?; sleep 600"
    tmux("new-session", "-d", "-s", "genbench", "-x", str(width), "-y", "50", "-c", str(cwd), shell)
    deadline = time.monotonic() + timeout
    while DONE not in (shown := tmux("capture-pane", "-p", "-t", "genbench", "-S", "-")):
        assert time.monotonic() < deadline, f"not done in {timeout} s:\n{shown}"
        time.sleep(1)
    return shown, tmux("capture-pane", "-p", "-J", "-t", "genbench", "-S", "-")


@pytest.mark.parametrize("width", [100, pytest.param(200, marks=pytest.mark.long)])
def test_a_run_on_a_terminal_fits_it(tmux, tmp_path, width):
    genbench = shlex.join([sys.executable, "-m", "harness.cli"])
    shown, joined = _screen(tmux, f"{genbench} run -g gaussian -g noise -g clock --budget smoke --out runs",
                            width, tmp_path)
    lines = shown.rstrip("\n").splitlines()
    assert f"{DONE}0" in lines, shown
    too_long = [line for line in lines if cell_len(line) > width]
    assert not too_long, shown
    # tmux -J joins a line the terminal wrapped with the next: the same count means none wrapped.
    assert len(joined.rstrip("\n").splitlines()) == len(lines), shown
    text = " ".join(shown.split())
    # The columns read first (docs/terminal-output.md), in the leaderboard's order; a
    # wide terminal is still given 120 columns, which add the SSIM kind.
    kind = "ssim kind " if width >= 120 else ""
    assert f"generator dataset fd-clocknet ↓ fd-clocknet-inf ↓ ssim ↑ {kind}images seen status" in text, shown
    assert "more columns hidden (" in text and "--wide or --columns NAME,NAME" in text
    assert "columns with no value in any row not shown" in text
    for k, who in enumerate(("gaussian", "noise", "clock"), 1):
        assert f"genbench: [{k}/3] {who} · clocks · seed 0: started" in lines
        assert any(line.startswith(f"genbench: [{k}/3] {who} · clocks · seed 0: ok · ") for line in lines)
    assert "genbench: 3 of 3 run(s) ok" in lines and "next:" in lines
    assert "report runs/report-adhoc.html" in text
