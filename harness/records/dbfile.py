"""The results database as a file: what is refused before SQLite writes to it (a folder,
a foreign or damaged file, an empty one for a reader), what is checked once it is open
(every table and column there), and how a failed read is told (a damaged page, a
missing table). A refused file is left exactly as it was."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

from harness.errors import UsageError
from harness.records import schema, tables

MAGIC = b"SQLite format 3\x00"
DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_SEQUENCE", "SQLITE_CORRUPT_VTAB")
RESTORE = "restore it from a backup, or pass another --db"


def driver_error(exc: BaseException) -> BaseException:
    """The database driver's own error inside SQLAlchemy's wrapper."""
    return getattr(exc, "orig", None) or exc


def reason(exc: BaseException) -> str:
    """A failed read or write in one line, as the driver put it (without SQLAlchemy's
    statement and link)."""
    return " ".join(str(driver_error(exc)).split())


def is_damage(exc: BaseException) -> bool:
    """A read or write failed because the file is damaged or incomplete (not because it is busy or full)."""
    exc = driver_error(exc)
    if isinstance(exc, UnicodeDecodeError):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    text = str(exc)
    return (getattr(exc, "sqlite_errorname", None) in DAMAGED or "malformed" in text or "decode" in text
            or text.startswith(("no such table", "no such column", "file is not a database")))


def unreadable(path: object, exc: BaseException) -> UsageError:
    """What a failed read says: a missing table or column, a damaged file, or why else."""
    text = reason(exc)
    # SQLite's words, then PostgreSQL's
    missing = (re.match(r"no such (table|column): (\S+)", text)
               or re.search(r'(relation|column) "?([^"\s]+)"? does not exist', text))
    if missing:
        kind = "table" if missing[1] == "relation" else missing[1]
        return UsageError(f"{path}: the {kind} {missing[2]!r} is missing, so it is not a complete genbench "
                          f"database (tables: {', '.join(tables.TABLE_NAMES)}); {RESTORE}")
    if is_damage(exc):
        return UsageError(f"{path}: not a readable genbench database (damaged?): {text}; {RESTORE}")
    return UsageError(f"{path}: cannot read the results database: {text}")


def check_before_opening(path: Path, create: bool) -> None:
    """Refuses, leaving it untouched, a path that is not a genbench database: a folder, a
    foreign or damaged file; with ``create`` False (a reader) also a missing or empty one."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a results database file; pass the database file itself "
                         f"(such as {path / 'genbench.sqlite'}) as --db")
    if not path.exists():
        if create:
            return
        raise UsageError(f"no results database at {path}; run `genbench run` first or pass --db")
    try:
        with open(path, "rb") as f:
            header = f.read(len(MAGIC))
    except OSError as exc:
        raise UsageError(f"cannot read the results database {path}: {exc.strerror}") from exc
    if not header:
        if create:
            return  # an empty file becomes a new database
        raise UsageError(f"{path} is an empty file, not a genbench database; run `genbench run` first or pass --db")
    if header != MAGIC:
        raise UsageError(f"{path} is not an SQLite database (corrupt or foreign file); "
                         "it was left untouched: pass another --db path")
    _check_size(path)
    # Through SQLite (the header on disk may lag behind the WAL), reading only. Not opened
    # read-only: such a connection leaves the WAL's side files behind when it closes.
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)) as con:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            problems = [r[0] for r in con.execute("PRAGMA quick_check(3)")]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a readable genbench database (damaged?): {exc}; it was left untouched: "
                         f"{RESTORE}") from exc
    if app_id != schema.APPLICATION_ID and (app_id != 0 or tables):
        what = f"application_id {app_id:#x}" if app_id else f"tables: {', '.join(map(str, tables[:5]))}"
        raise UsageError(f"{path} is an SQLite database of another application ({what}); "
                         "it was left untouched: pass another --db path")
    if problems != ["ok"]:
        found = " ".join("; ".join(map(str, problems)).split())
        raise UsageError(f"{path}: not a readable genbench database (damaged: {found[:300]}); "
                         f"it was left untouched: {RESTORE}")
    if app_id == 0 and not create:
        raise UsageError(f"{path} is an empty SQLite database, not a genbench database; run `genbench run` first "
                         "or pass --db")


def _check_size(path: Path) -> None:
    """A file shorter than its header says was cut short: SQLite would read the missing
    bytes as zeros, silently, where they held values. (With a WAL beside it, the header on
    disk may lag behind; the WAL's own checksums guard what is in it.)"""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return
    with open(path, "rb") as f:
        header = f.read(100)
    if len(header) < 100:
        raise UsageError(f"{path} is cut short ({len(header)} bytes, less than an SQLite header); it was left "
                         f"untouched: {RESTORE}")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages, counter, valid_for = (int.from_bytes(header[i:i + 4], "big") for i in (28, 24, 92))
    size = path.stat().st_size
    if counter == valid_for and pages and size < pages * page_size:
        raise UsageError(f"{path} is cut short: {size} bytes, where its header says {pages} pages of {page_size}; "
                         f"it was left untouched: {RESTORE}")


def check_tables(db: sqlite3.Connection, path: Path) -> None:
    """Every table and column of the current schema is in the file, read before anything
    is written to it (``schema.check_tables`` says the same of an open store)."""
    for table, columns in tables.columns().items():
        found = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if not found:
            raise UsageError(f"{path}: the table {table!r} is missing, so it is not a complete genbench database "
                             f"(tables: {', '.join(tables.TABLE_NAMES)}); {RESTORE}")
        if missing := [c for c in columns if c not in found]:
            raise UsageError(f"{path}: table {table!r} has no column {', '.join(map(repr, missing))}, so it is not "
                             f"a complete genbench database; {RESTORE}")
