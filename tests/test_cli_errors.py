"""Bad input: a one-line error that names the problem, exit code 2, and no record."""

from __future__ import annotations

import signal
import sqlite3
import textwrap

import pytest


def rows(db) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(db)
    try:
        return sum(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                   for t in ("suite_runs", "runs", "evaluations", "metrics"))
    finally:
        con.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-g", "nope"], "unknown generator 'nope'; available: betavae, clock, dcgan, ddpm, gaussian, ldm,"),
        (["-g", "clock", "-d", "imagenet"], "unknown dataset 'imagenet'; available: cifar10, clocks, digits,"),
        (["-g", "clock", "-b", "huge"], "unknown budget 'huge'; expected one of"),
        (["--suite", "nosuch"], "unknown suite 'nosuch'"),
        (["-g", "clock", "--device", "tpu"], "unknown device 'tpu'"),
    ],
)
def test_unknown_names(run_cli, tmp_path, args, message):
    code, out, err = run_cli("run", *args, "--out", tmp_path)
    assert code == 2
    assert message in err and err.count("\n") == 1 and out == ""
    assert rows(tmp_path / "genbench.sqlite") == 0


def write(tmp_path, text):
    path = tmp_path / "suite.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_malformed_toml_names_the_line(run_cli, tmp_path):
    suite = write(tmp_path, """\
        name = "x"
        budget = "smoke"
        [[entry]]
        generator = "clock
        """)
    code, _, err = run_cli("run", "--suite", suite, "--out", tmp_path)
    assert code == 2 and "malformed TOML" in err and "line 4" in err


def test_unknown_suite_key_names_key_and_line(run_cli, tmp_path):
    suite = write(tmp_path, """\
        name = "x"
        budget = "smoke"

        [[entry]]
        generator = "clock"
        dataset = "clocks"
        confg = { lr = 0.1 }
        """)
    code, _, err = run_cli("run", "--suite", suite, "--out", tmp_path)
    assert code == 2
    assert "line 7" in err and "unknown key 'confg' in [[entry]] #1" in err and "expected one of" in err
    assert rows(tmp_path / "genbench.sqlite") == 0


def test_wrong_type_and_bad_seeds(run_cli, tmp_path):
    suite = write(tmp_path, """\
        budget = "smoke"
        seeds = [-1]
        [[entry]]
        generator = "clock"
        dataset = "clocks"
        """)
    code, _, err = run_cli("run", "--suite", suite, "--out", tmp_path)
    assert code == 2 and "line 2" in err and "a seed must be from 0 to" in err


def test_unknown_generator_config_and_dataset_option(run_cli, tmp_path):
    suite = write(tmp_path, """\
        budget = "smoke"
        [[entry]]
        generator = "clock"
        dataset = "clocks"
        config = { learning_rate = 0.1 }
        """)
    code, _, err = run_cli("run", "--suite", suite, "--out", tmp_path)
    assert code == 2 and "unknown config key(s) learning_rate" in err
    suite = write(tmp_path, """\
        budget = "smoke"
        [[entry]]
        generator = "clock"
        dataset = "clocks"
        dataset_options = { resolution = 5 }
        """)
    code, _, err = run_cli("run", "--suite", suite, "--out", tmp_path)
    assert code == 2 and "resolution" in err
    assert rows(tmp_path / "genbench.sqlite") == 0


def test_budget_file_errors(run_cli, tmp_path):
    budget = tmp_path / "tiny.toml"
    budget.write_text("images = 100\nwall_clock_s = 10\neval_every = 50\nn_samples = -3\n")
    code, _, err = run_cli("run", "-g", "clock", "-b", budget, "--out", tmp_path)
    assert code == 2 and "n_samples must be from 1 to 200,000, got -3" in err
    budget.write_text("images = 100\nwal_clock_s = 10\n")
    code, _, err = run_cli("run", "-g", "clock", "-b", budget, "--out", tmp_path)
    assert code == 2 and "unknown key 'wal_clock_s'" in err and "line 2" in err


def test_unwritable_output_directory(run_cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run_cli("run", "-g", "clock", "-b", "smoke", "--out", blocker / "runs")
    assert code == 2
    assert "not writable" in err or "cannot create" in err
    assert str(blocker / "runs") in err


@pytest.mark.parametrize("time", ["25:61:00", "12:60:00", "half past"])
def test_bad_clock_time(run_cli, tmp_path, time):
    code, _, err = run_cli("clock", time, "--out", tmp_path)
    assert code == 2 and repr(time) in err


def test_clock_without_a_trained_model(run_cli, tmp_path):
    code, _, err = run_cli("clock", "11:10:30", "--out", tmp_path)
    assert code == 2 and "no results database" in err


def test_leaderboard_without_database(run_cli, tmp_path):
    code, _, err = run_cli("leaderboard", "--out", tmp_path)
    assert code == 2 and "no results database" in err


def test_argparse_errors_exit_2(run_cli):
    with pytest.raises(SystemExit) as exc:
        run_cli("run", "--seed", "abc")
    assert exc.value.code == 2


def test_genbench_run_in_process_leaves_the_signal_handlers_as_it_found_them(run_cli, tmp_path):
    """cli.main handles SIGTERM and SIGHUP while it runs; a caller's own handlers are back after."""
    def mine(signum, frame):
        pass

    before = {signum: signal.signal(signum, mine) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        code, _, err = run_cli("runs", "--db", tmp_path / "missing.sqlite")
        assert code == 2 and "no results database" in err
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGHUP) is mine
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
