"""The bad-input contract every fuzz test asserts (README, "Exit codes"): genbench exits
0, 1 or 2 and nothing else; it never shows a traceback; on exit 2 it prints one line,
``genbench: error: ...``, that names the input; and on exit 2 nothing is recorded.

genbench runs in this process (``harness.cli.main``), so thousands of inputs take
minutes, not hours; an exception that escapes ``main`` is what a user would see as a
traceback."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness import cli

# Every generated input, by fuzz target, and what broke the contract: written to the
# terminal summary (conftest.py), and the figure docs/reliability.md quotes.
TALLY: Counter = Counter()


@dataclass(frozen=True)
class Outcome:
    code: int | None
    out: str
    err: str
    escaped: str | None  # the traceback of an exception that escaped main()


def genbench(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None) -> Outcome:
    """``genbench ARGS`` in-process, with stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env or {})
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code, escaped = cli.main([str(a) for a in args]), None
            except SystemExit as exc:  # argparse's own exit
                code, escaped = exc.code if isinstance(exc.code, int) else 2, None
            except BaseException:  # what a user would see as a traceback
                code, escaped = None, traceback.format_exc()
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return Outcome(code, out.getvalue(), err.getvalue(), escaped)


def recorded(root: Path) -> dict[str, object]:
    """What is recorded under ``root``: every file and folder, and each database's rows."""
    state: dict[str, object] = {}
    if not root.exists():
        return state
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.name.endswith(("-wal", "-shm", "-journal")):
            continue  # SQLite's own side files come and go with a connection
        if path.suffix == ".sqlite" and path.is_file():
            state[rel] = _rows(path)
        else:
            state[rel] = "dir" if path.is_dir() else path.stat().st_size
    return state


def _rows(path: Path) -> object:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in sorted(tables)}
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return path.stat().st_size  # a file the test damaged on purpose: its size says if it changed


def check(target: str, outcome: Outcome, names: tuple[str, ...] = (), before: dict | None = None,
          after: dict | None = None, bad: bool = True) -> None:
    """Asserts the contract for one generated input of ``target``. ``names``: on exit 2 the
    message names one of these (the file, key or argument); ``bad``: the input is invalid,
    so exit 0 would be a silent acceptance."""
    TALLY[f"{target}: inputs"] += 1
    problem = _problem(outcome, names, before, after, bad)
    if problem:
        TALLY[f"{target}: {problem.split(':')[0]}"] += 1
    assert problem is None, f"{problem}\n--- stderr ---\n{outcome.err}\n--- escaped ---\n{outcome.escaped or ''}"


def _problem(outcome: Outcome, names: tuple[str, ...], before: dict | None, after: dict | None,
             bad: bool) -> str | None:
    if outcome.escaped is not None or "Traceback (most recent call last)" in outcome.err:
        return "traceback: an exception escaped"
    if outcome.code not in (0, 1, 2):
        return f"exit code: {outcome.code} is not 0, 1 or 2"
    if bad and outcome.code == 0:
        return "silent acceptance: invalid input, exit 0"
    if outcome.code == 2:
        lines = [line for line in outcome.err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("genbench: error: ")]
        if len(errors) != 1:
            return f"message: expected one 'genbench: error:' line, got {json.dumps(lines)}"
        if names and not any(n in errors[0] for n in names):
            return f"message: names none of {list(names)}: {errors[0]}"
        if before is not None and after is not None and before != after:
            return f"recorded on exit 2: {_diff(before, after)}"
    return None


def _diff(before: dict, after: dict) -> str:
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return ", ".join(f"{k}: {before.get(k)} -> {after.get(k)}" for k in changed[:5])
