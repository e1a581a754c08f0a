"""The structure the renovation set: only the records layer knows SQL and the database's
JSON columns, the command line is a short dispatcher with one module per command, and no
module grows past a readable size."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"
RECORDS = HARNESS / "records"
SQL = re.compile(r"\b(SELECT\b.+\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+TABLE|ALTER\s+TABLE|PRAGMA)\b", re.IGNORECASE | re.DOTALL)
DB_COLUMNS = {"options", "env", "given", "used", "details", "values_json"}
MAX_LINES = 300


def _modules() -> list[Path]:
    return sorted(p for p in HARNESS.rglob("*.py") if RECORDS not in p.parents)


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlite3" for a in node.names):
            found.append(f"{where}: imports sqlite3")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlite3":
            found.append(f"{where}: imports from sqlite3")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"{where}: SQL text {node.value[:40]!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("execute", "executemany", "executescript"):
                found.append(f"{where}: runs SQL (.{node.func.attr})")
            if node.func.attr == "loads" and node.args and isinstance(node.args[0], ast.Subscript):
                key = node.args[0].slice
                if isinstance(key, ast.Constant) and key.value in DB_COLUMNS:
                    found.append(f"{where}: decodes the database column {key.value!r}")
    return found


def test_only_the_records_layer_knows_sql_and_database_columns():
    found = [v for path in _modules() for v in _violations(path)]
    assert not found, "\n".join(found)


def test_the_scan_catches_what_it_looks_for(tmp_path):
    planted = tmp_path / "leaky.py"
    planted.write_text('import sqlite3\nimport json\nrows = db.execute("SELECT * FROM runs")\n'
                       'used = json.loads(row["used"])\n')
    assert len(_violations(planted)) == 4


def test_the_command_line_is_a_short_dispatcher_and_modules_stay_small():
    assert len((HARNESS / "cli.py").read_text().splitlines()) < 120
    long = {str(p.relative_to(HARNESS)): n for p in HARNESS.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_command_module_owns_its_parser_and_runner():
    from harness import cli
    from harness.commands import COMMANDS

    subcommands = cli.parser()._subparsers._group_actions[0].choices
    assert len(subcommands) == len(COMMANDS)
    for command in COMMANDS:
        assert callable(command.add_parser) and callable(command.run), command.__name__


def test_a_closed_pipe_ends_quietly():
    """`genbench plugins | head`: the reader is gone before genbench writes; no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "plugins"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # long before the plugins are loaded and the first line is written
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == "", err
