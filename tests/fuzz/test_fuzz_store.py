"""Fuzzing the results database (issue 14): a real smoke run's database, damaged
(truncated, bytes flipped, a table or column dropped, bad JSON or JSON of the wrong kind
in a column, text in a metric's value, any value in any column), then read by every
command that reads it: leaderboard, runs, compare, history and report. The contract
(``contract.check``): exit 0, 1 or 2, never a traceback; on exit 2 one line naming the
database; nothing written on exit 2; and exit 0 only where the damage may leave what the
command reads valid."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from contract import check, genbench, recorded
from hypothesis import given, note, settings
from hypothesis import strategies as st

TARGET = "database"
TABLES = ("suite_runs", "runs", "evaluations", "metrics")
JSON_COLUMNS = {"suite_runs": ("options", "env"), "runs": ("options", "given", "used", "env"),
                "evaluations": ("values_json",), "metrics": ("details",)}
# What each command reads: the tables whose every row it decodes (one suite run, one run here).
READS = {"leaderboard": {"suite_runs", "runs", "metrics"}, "runs": {"suite_runs", "runs"},
         "compare": {"suite_runs", "runs", "metrics"}, "report": {"suite_runs", "runs", "metrics", "evaluations"},
         "history": set()}  # history reads runs.used and one metric's value (below)


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> tuple[bytes, str]:
    """A smoke run of the gaussian baseline: its database's bytes (all in the file, no WAL) and suite-run id."""
    out = tmp_path_factory.mktemp("golden")
    done = genbench("run", "-g", "gaussian", "--budget", "smoke", "--isolation", "none", "--no-report",
                    "--no-progress", "--label", "fuzz", "--out", out)
    assert done.code == 0, done.err
    db = out / "genbench.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        suite_run = con.execute("SELECT id FROM suite_runs").fetchone()[0]
    return db.read_bytes(), suite_run


def _command(name: str, db: Path, out: Path, suite_run: str) -> list[object]:
    common = ["--db", db, "--out", out]
    return {"leaderboard": ["leaderboard", *common], "runs": ["runs", *common],
            "compare": ["compare", suite_run, "fuzz", *common],
            "history": ["history", "-g", "gaussian", "-m", "fd-clocknet", *common],
            "report": ["report", "--html", out / "report.html", *common]}[name]


def _sql(db: Path, statement: str, args: tuple = ()) -> int:
    """Runs one statement on the copy; whether it changed anything (0: a constraint refused it)."""
    try:
        with sqlite3.connect(db) as con:
            return max(con.execute(statement, args).rowcount, 1 if statement.startswith(("DROP", "ALTER")) else 0)
    except (sqlite3.IntegrityError, sqlite3.OperationalError):
        return 0


def _values() -> st.SearchStrategy:
    return st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
                     st.text(max_size=20), st.binary(max_size=8))


@st.composite
def damage(draw: st.DrawFn, db: Path, raw: bytes) -> tuple[str, set[str]]:
    """Damages ``db`` (a copy of the golden file); returns what was done, and the tables
    (or "metric:NAME", "runs.used") a reader of them must find bad."""
    kind = draw(st.sampled_from(["truncate", "flip", "drop table", "drop column", "bad json", "json kind",
                                 "metric text", "any value"]))
    if kind == "truncate":
        size = draw(st.integers(1, len(raw) - 1))
        db.write_bytes(raw[:size])
        return f"{kind} to {size}", {"*"}  # even by zero bytes: the header says how long the file is
    if kind == "flip":
        out = bytearray(raw)
        for pos in draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=16, unique=True)):
            out[pos] ^= 1 << draw(st.integers(0, 7))
        db.write_bytes(bytes(out))
        return kind, set()  # a flip in free space, or in a number, leaves a valid file
    db.write_bytes(raw)
    if kind == "drop table":
        table = draw(st.sampled_from(TABLES))
        return f"{kind} {table}", {"*"} if _sql(db, f"DROP TABLE {table}") else set()
    if kind == "drop column":
        table = draw(st.sampled_from(TABLES))
        with sqlite3.connect(db) as con:
            columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if not r[5]]  # not a key
        column = draw(st.sampled_from(columns))
        return f"{kind} {table}.{column}", {"*"} if _sql(db, f"ALTER TABLE {table} DROP COLUMN {column}") else set()
    if kind in ("bad json", "json kind"):
        table = draw(st.sampled_from(TABLES))
        column = draw(st.sampled_from(JSON_COLUMNS[table]))
        text = draw(st.sampled_from(['{"a": ', "{'a': 1}", "[", "", "nul", '{"a": 1}}', "\x00"] if kind == "bad json"
                                    else ["[]", "[1, 2]", "1", "-2.5", '"text"', "true", "null"]))
        changed = _sql(db, f"UPDATE {table} SET {column} = ?", (text,))
        hit = {table, "runs.used"} if (table, column) == ("runs", "used") else {table}
        return f"{kind} {table}.{column} = {text!r}", hit if changed else set()
    if kind == "metric text":
        with sqlite3.connect(db) as con:
            names = [r[0] for r in con.execute("SELECT name FROM metrics ORDER BY name")]
        name = draw(st.sampled_from(names))
        text = draw(st.text(alphabet="abcxyz -_.%", min_size=0, max_size=12))
        _sql(db, "UPDATE metrics SET value = ? WHERE name = ?", (text, name))
        with sqlite3.connect(db) as con:
            stored = con.execute("SELECT typeof(value) FROM metrics WHERE name = ?", (name,)).fetchone()[0]
        return f"{kind} {name} = {text!r}", {"metrics", f"metric:{name}"} if stored == "text" else set()
    table = draw(st.sampled_from(TABLES))
    with sqlite3.connect(db) as con:
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    column = draw(st.sampled_from(columns))
    value = draw(_values())
    _sql(db, f"UPDATE {table} SET {column} = ?", (value,))
    return f"{kind} {table}.{column} = {value!r}", set()  # may be a valid value of the column


def _must_fail(command: str, hit: set[str]) -> bool:
    if "*" in hit:
        return True
    if command == "history":
        return "runs.used" in hit or "metric:fd-clocknet" in hit
    return bool(hit & READS[command])


def test_damaged_databases(fuzz_settings, tmp_path_factory, golden):
    raw, suite_run = golden

    @settings(parent=fuzz_settings)
    @given(st.data())
    def one(data):
        folder = tmp_path_factory.mktemp("db")
        # Not .sqlite: contract.recorded would read it through SQLite, which raises
        # UnicodeDecodeError for some damaged files; its size still says if it changed.
        db = folder / "genbench.db"
        what, hit = data.draw(damage(db, raw), label="damage")
        note(what)
        command = data.draw(st.sampled_from(sorted(READS)), label="command")
        before = recorded(folder)
        outcome = genbench(*_command(command, db, folder, suite_run))
        # On exit 2 the message names the database, or the argument that named nothing in it.
        names = {"history": (str(db), "'gaussian'", "'fd-clocknet'"), "compare": (str(db), suite_run, "'fuzz'")}
        names = names.get(command, (str(db),))
        check(TARGET, outcome, names=names, before=before, after=recorded(folder), bad=_must_fail(command, hit))

    one()
