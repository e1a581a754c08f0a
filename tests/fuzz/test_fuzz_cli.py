"""Generated command lines: every command with nasty values in every option. The
contract holds for all of them (exit 0/1/2, no traceback, one line on exit 2, nothing
recorded on exit 2); values outside a flag's bounds are refused, never accepted."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from contract import check, genbench, recorded
from hypothesis import given, settings
from hypothesis import strategies as st

# A results database with two finished runs, made once: the commands that read one get
# past "no database" to their own handling of the values.
BASE_RUNS = ("-g", "gaussian", "-g", "noise", "--budget", "smoke", "--isolation", "none", "--no-report")


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fuzz-cli-base")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", *BASE_RUNS, "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out / "genbench.sqlite"


def nasty_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["", " ", "%", "_", "%%", "..", "/", "a/b", "-", "--", "nan", "inf", "-inf", "1e309",
                         "18446744073709551616", "-1", "0", "\x00", "é", "$\\undefinedcommand{x}$", "<b>x</b>",
                         "gaussian", "clocks", "smoke", "quick", "fd-clocknet", "builtins:md", "x.txt", "x.png",
                         "x.html", "file:///nonexistent", "notaurl"]),
        st.text(max_size=12),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
    )


# Each command's options and how many values each takes (0: a flag).
OPTIONS: dict[str, dict[str, int]] = {
    "run": {"--suite": 1, "-g": 1, "-d": 1, "--budget": 1, "--seed": 1, "--seeds": 1, "--device": 1, "--label": 1,
            "--format": 1, "--columns": 1, "--wide": 0, "--data-dir": 1, "--fid-weights": 1, "--tensorboard": 1,
            "--isolation": 1},
    "runs": {"--limit": 1, "--json": 0},
    "leaderboard": {"--suite": 1, "--suite-run": 1, "--runs": 1, "--format": 1, "--columns": 1, "--wide": 0},
    "compare": {"--factor": 1, "--alpha": 1, "--test": 1, "--fail-on": 1, "--format": 1, "--policy": 1,
                "--changes-only": 0},
    "history": {"-g": 1, "-m": 1, "-d": 1, "-b": 1, "--by": 1, "--lookback": 1, "--z": 1, "--plot": 1,
                "--format": 1},
    "report": {"--suite": 1, "--compare": 2, "--title": 1, "--html": 1},
    "clock": {"--png": 1, "--run": 1},
    "check-plugin": {"--dataset": 1, "--device": 1},
}
POSITIONALS = {"compare": 2, "clock": 1, "check-plugin": 1, "runs": 1, "report": 1}
REQUIRED = {"history": ("-g", "-m")}
STORELESS = ("check-plugin",)  # takes no --out or --db
# Values that get past a flag's parsing, so that what follows it is exercised too.
PLAUSIBLE: dict[str, list[str]] = {
    "--suite": ["smoke", "quick"], "-g": ["gaussian", "noise", "clock"], "-d": ["clocks", "digits", "mnist"],
    "--budget": ["smoke"], "-b": ["smoke"], "--seed": ["0", "1"], "--seeds": ["1", "2"], "--device": ["cpu"],
    "--format": ["md", "csv", "json", "term"], "--columns": ["generator,status", "fd-clocknet"],
    "--isolation": ["none"], "--limit": ["1", "5"], "--test": ["mannwhitney", "welch"], "--factor": ["1.1"],
    "--alpha": ["0.05"], "--fail-on": ["fd-*"], "-m": ["fd-clocknet", "ssim"], "--by": ["date", "label"],
    "--lookback": ["5"], "--z": ["3"], "--plot": ["h.png"], "--html": ["r.html"], "--png": ["c.png"],
    "--dataset": ["clocks"], "compare": ["gaussian", "noise"], "clock": ["11:10:30", "25:00:00"],
    "check-plugin": ["gaussian", "baselines"], "runs": ["smoke"], "report": ["adhoc"],
}


def _value(flag_or_command: str) -> st.SearchStrategy[str]:
    plausible = PLAUSIBLE.get(flag_or_command)
    return st.one_of(st.sampled_from(plausible), nasty_text()) if plausible else nasty_text()


@st.composite
def command_lines(draw) -> list[str]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    args = [command]
    wanted = POSITIONALS.get(command, 0)
    positional = draw(st.sampled_from([wanted] * 4 + list(range(wanted))))  # mostly as many as it takes
    args += [draw(_value(command)) for _ in range(positional)]
    for flag in REQUIRED.get(command, ()):
        args += [flag, draw(_value(flag))]
    for flag in draw(st.lists(st.sampled_from(sorted(OPTIONS[command])), max_size=4)):
        args += [flag] + [draw(_value(flag)) for _ in range(OPTIONS[command][flag])]
    if command == "run":
        args.append("--dry-run")  # validates all of it; trains nothing
    return args


def test_generated_command_lines(fuzz_settings, base_store, tmp_path_factory):
    @settings(parent=fuzz_settings)
    @given(command_lines())
    def one(args):
        root = tmp_path_factory.mktemp("cli")
        db = root / "genbench.sqlite"
        shutil.copy(base_store, db)
        before = recorded(root)
        store = [] if args[0] in STORELESS else ["--out", root / "runs", "--db", db]
        outcome = genbench(*args, *store, cwd=root)
        check("command line", outcome, before=before, after=recorded(root), bad=False)

    one()


# Values every bound refuses, for the flags that take numbers, the same on every command.
OUT_OF_BOUNDS = {
    ("run", "--seed"): ["-1", "9223372036854775808", "18446744073709551616", "1.5", "x", ""],
    ("run", "--seeds"): ["0", "-3", "1001", "2.0", ""],
    ("history", "--lookback"): ["2", "0", "-1", "nan", ""],
    ("history", "--z"): ["nan", "inf", "0", "-1", "x", ""],
    ("runs", "--limit"): ["0", "-1", "x", ""],
}
EMPTY_REFUSED = [("run", "--suite"), ("run", "-g"), ("run", "-d"), ("run", "--budget"), ("run", "--resume"),
                 ("run", "--label"), ("leaderboard", "--suite"), ("leaderboard", "--suite-run"),
                 ("history", "-g"), ("history", "-m"), ("report", "--suite"), ("clock", "--run")]
FIXED_ARGS = {"history": ["-g", "gaussian", "-m", "fd-clocknet"], "clock": ["11:10:30"]}


@pytest.mark.parametrize(("command", "flag", "value"),
                         [(c, f, v) for (c, f), values in OUT_OF_BOUNDS.items() for v in values]
                         + [(c, f, v) for c, f in EMPTY_REFUSED for v in ("", "  ")])
def test_out_of_bounds_and_empty_values_are_refused_before_anything_is_recorded(command, flag, value, base_store,
                                                                                 tmp_path):
    db = tmp_path / "genbench.sqlite"
    shutil.copy(base_store, db)
    before = recorded(tmp_path)
    args = [command, *FIXED_ARGS.get(command, []), f"{flag}={value}" if flag.startswith("--") else flag, *(
        [] if flag.startswith("--") else [value]), "--out", tmp_path / "runs", "--db", db]
    outcome = genbench(*args, cwd=tmp_path)
    check("bounds", outcome, names=(flag.lstrip("-"),), before=before, after=recorded(tmp_path))
    assert outcome.code == 2
