"""The results store: WAL mode, one transaction per record, and a foreign or corrupt
file refused with a clear error and left untouched."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError

from harness.errors import UsageError
from harness.records import ResultsStore


def test_new_store_is_wal_and_marked(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    assert store.journal_mode == "wal"
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "r.sqlite")) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47454E42
    ResultsStore(tmp_path / "r.sqlite").close()  # reopening our own file works


def test_corrupt_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "r.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(UsageError, match="not an SQLite database"):
        ResultsStore(path)
    assert path.read_bytes() == before


def test_foreign_sqlite_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(UsageError, match="another application"):
        ResultsStore(path)
    assert path.read_bytes() == before


def test_failed_transaction_writes_nothing(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    store.add_suite_run("s1", "quick", None, "quick", {}, {})
    with pytest.raises(IntegrityError):
        store.add_suite_run("s1", "quick", None, "quick", {}, {})
    assert len(store.suite_runs()) == 1


def test_cli_refuses_a_foreign_database(run_cli, tmp_path):
    path = tmp_path / "x.sqlite"
    path.write_bytes(b"garbage" * 50)
    code, _, err = run_cli("run", "--suite", "smoke", "--out", tmp_path, "--db", path)
    assert code == 2 and "left untouched" in err
