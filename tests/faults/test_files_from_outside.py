"""Files genbench reads or writes that someone else planted: a checkpoint holding code,
reached through a crafted database row, and a symlink where an output goes."""

from __future__ import annotations

import os

import torch

from harness.records import ResultsStore
from tests.planted import plant_suite


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_row_cannot_make_genbench_clock_run_code(tmp_path, run_cli):
    folder = tmp_path / "evil"
    (folder / "checkpoints").mkdir(parents=True)
    marker = tmp_path / "pwned"
    torch.save({"generator": Payload(marker)}, folder / "checkpoints" / "ckpt-0000000512.pt")
    store = ResultsStore(tmp_path / "genbench.sqlite")
    plant_suite(store, None, {"fd-clocknet": [1.0]}, generator="clock", run_dir=folder)
    store.close()
    code, _, err = run_cli("clock", "11:10:30", "--out", tmp_path, "--png", tmp_path / "c.png")
    assert code == 2 and "cannot load the checkpoint" in err, err
    assert not marker.exists()


def test_outputs_replace_a_planted_symlink_instead_of_writing_through_it(tmp_path, run_cli):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "runs"
    out.mkdir()
    for name in ("leaderboard-adhoc.md", "leaderboard-adhoc.csv", "report-adhoc.html"):
        (out / name).symlink_to(victim)
    code, _, err = run_cli("run", "-g", "gaussian", "-b", "smoke", "--out", out, "--isolation", "none")
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert not (out / "leaderboard-adhoc.md").is_symlink() and "gaussian" in (out / "leaderboard-adhoc.md").read_text()
