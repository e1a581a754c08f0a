"""A regression test for each bad input of the command line and the suite and budget
files that once gave a traceback or was silently accepted: each is now exit 2 with one
line naming it, and nothing is recorded."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
from contract import check, genbench, recorded  # the fuzz suite's contract, shared

SUITE = """\
name = "s"
budget = "smoke"

[[entry]]
generator = "gaussian"
dataset = "clocks"
"""


def _refused(root: Path, *args: object, names: tuple[str, ...]) -> str:
    before = recorded(root)
    outcome = genbench(*args, cwd=root)
    check("regression", outcome, names=names, before=before, after=recorded(root))
    assert outcome.code == 2, outcome.err
    assert not (root / "runs").exists() and not (root / "runs" / "genbench.sqlite").exists()
    return outcome.err


def _suite(root: Path, text: str | bytes) -> Path:
    path = root / "suite.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(("text", "message"), [
    (b"name = \"s\"\n\xff\xfe", "line 2: not UTF-8 text (byte 0xff)"),
    ('budget = "smoke"\nentry = [1, 2]\n', "line 2: entry must be [[entry]] tables"),
    (SUITE.replace('dataset = "clocks"', 'dataset = "clocks"\ndataset_options = { split_seed = "a" }'),
     "line 4 ([[entry]] #1): dataset 'clocks' option 'split_seed' must be a whole number"),
    (SUITE.replace('name = "s"', 'name = "a/b"'), "line 1: the suite name 'a/b' cannot name files"),
    (SUITE.replace('generator = "gaussian"', 'generator = "nope"'), "line 4 ([[entry]] #1): unknown generator"),
    (SUITE.replace('dataset = "clocks"', 'dataset = "clocks"\ndataset_options = { resolution = 7 }'),
     "line 4 ([[entry]] #1): clocks: resolution must be from 8 to 512"),
    (SUITE.replace('generator = "gaussian"', 'generator = "dcgan"\nconfig = { widht = 3 }'),
     "line 4 ([[entry]] #1): generator 'dcgan': unknown config key(s) widht"),
    (SUITE.replace('generator = "gaussian"', 'generator = "dcgan"\nconfig = { width = "wide" }'),
     "line 4 ([[entry]] #1): generator 'dcgan' config key 'width' must be a whole number"),
    (SUITE.replace('budget = "smoke"', 'budget = "b"\nseeds = [0]\n[budgets.b]\nbase = "smoke"\n'
                                       'n_samples = 1000000000000'), "n_samples must be from 1 to 200,000"),
    (SUITE.replace('name = "s"', 'name = "s"\nseeds = [18446744073709551616]'), "a seed must be from 0 to"),
    (SUITE.replace('name = "s"', 'name = "s"\nseeds = [0, 0]'), "seed 0 appears twice"),
    (SUITE.replace('dataset = "clocks"', 'dataset = "clocks"\ndataset_options = { resolution = 99999999999999999999 }'),
     "option 'resolution' must fit in 64 bits"),
    (SUITE.replace('dataset = "clocks"', 'dataset = "clocks"\ndataset_options = { resolution = 9223372036854775807 }'),
     "clocks: resolution must be from 8 to 512"),
], ids=["not-utf8", "entry-not-tables", "split-seed-text", "name-with-slash", "unknown-generator",
        "bad-resolution", "unknown-config-key", "config-wrong-type", "huge-n-samples", "huge-seed", "seed-twice",
        "resolution-beyond-64-bits", "resolution-too-large"])
def test_a_bad_suite_file_is_named_with_its_line(tmp_path, text, message):
    path = _suite(tmp_path, text)
    err = _refused(tmp_path, "run", "--suite", path, names=(str(path),))
    assert message in err


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--seed", "18446744073709551616", "-g", "gaussian"], "--seed/-s: must be from 0 to"),
    (["run", "--seed", "-1", "-g", "gaussian"], "--seed/-s: must be from 0 to"),
    (["run", "--resume", ""], "--resume: must not be empty"),
    (["run", "--suite", ""], "--suite: must not be empty"),
    (["run", "--budget", "", "-g", "gaussian"], "--budget/-b: must not be empty"),
    (["run", "-d", "", "-g", "gaussian"], "--dataset/-d: must not be empty"),
    (["run", "-g", "gaussian", "--tensorboard", "/proc/genbench-tb"], "--tensorboard /proc/genbench-tb: cannot"),
    (["run", "--resume", "nothing-like-this"], "no results database"),
    (["history", "-g", "clock", "-m", "x", "--plot", "x.txt"], "--plot: x.txt: expected a .png file"),
    (["history", "-g", "clock", "-m", "x", "--z", "nan"], "--z: must be from"),
    (["clock", "11:10:30", "--out", "x.txt"], "--out: x.txt is a file, not a folder"),
    (["weights", "fetch", "--url", "notaurl"], "--url: expected an http://, https:// or file:// URL"),
    (["report", "--html", "r.txt"], "--html: r.txt: expected a .html or .htm file"),
    (["run", "-g", "gaussian", "--seed", "0", "--seed", "0"], "--seed 0 is given twice"),
    (["run", "-g", "gaussian", "--label", "a\nb"], "--label: must not hold control characters"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_bad_argument_is_refused_before_anything_is_recorded(tmp_path, args, message):
    (tmp_path / "x.txt").write_text("a file")
    err = _refused(tmp_path, *args, names=())
    assert message in err


def test_compare_bench_on_a_file_that_is_not_text(tmp_path):
    (tmp_path / "a.json").write_bytes(b"\xff\xfe{}")
    err = _refused(tmp_path, "compare", "--bench", tmp_path / "a.json", tmp_path / "a.json", names=("a.json",))
    assert "is not JSON text" in err


def test_a_dry_run_validates_everything_and_records_nothing(tmp_path):
    before = recorded(tmp_path)
    outcome = genbench("run", "--dry-run", "--suite", "quick", cwd=tmp_path)
    assert outcome.code == 0 and recorded(tmp_path) == before == {}
    assert "[10/10] ldm · clocks · seed 0" in outcome.out and "nothing recorded (--dry-run)" in outcome.err


def test_a_history_label_holding_tex_is_drawn_as_text(run_cli, tmp_path):
    from harness.records import ResultsStore
    from tests.planted import plant_suite

    store = ResultsStore(tmp_path / "genbench.sqlite")
    for i, value in enumerate((5.0, 5.1, 4.9, 5.0)):
        plant_suite(store, f"$\\undefinedcommand{{{i}}}$", {"fd-clocknet": [value]}, started=i)
    code, _, err = run_cli("history", "-g", "dcgan", "-m", "fd-clocknet", "--by", "label", "--db", store.path,
                             "--out", tmp_path)
    assert code in (0, 1), err
    assert (tmp_path / "history-dcgan-fd-clocknet.png").stat().st_size > 0


def test_an_extra_metric_that_is_no_number_fails_its_run_not_every_reader(tmp_path):
    from helpers import TinyGenerator, run_suite

    from harness import hookimpl, suites
    from harness.plugins import Host

    class Wordy(TinyGenerator):
        name = "wordy"

        def extra_metrics(self):
            return {"quality": "great"}

    class Plugin:
        @hookimpl
        def genbench_generators(self):
            return [Wordy]

    suite = suites.Suite("t", suites.budgets.NAMED["smoke"], [suites.Entry("wordy", "clocks")], (0,))
    store, _, (outcome,) = run_suite(tmp_path, suite, Host(plugins=[("wordy", Plugin())]))
    assert outcome.status == "failed"
    assert outcome.reason == "wordy.extra_metrics(): 'quality' is 'great', not a number (or None for n/a)"
    assert store.metrics(outcome.run_id) == []  # nothing a reader would have to parse


def test_a_suite_file_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "suite.toml")
    err = _refused(tmp_path, "run", "--suite", tmp_path / "suite.toml", "--dry-run", names=("suite.toml",))
    assert "not a regular file" in err
