"""Reading TOML configuration with errors that name the file, the key and the line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomllib

from harness.errors import UsageError


def load(path: Path) -> tuple[dict[str, Any], str]:
    """Parsed TOML and its text; a syntax error becomes a UsageError with its line."""
    if path.exists() and not path.is_file():  # a folder, a FIFO (which would block), a device
        raise UsageError(f"cannot read {path}: not a regular file")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise UsageError(f"{path}, line {line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                         "TOML files are UTF-8") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: malformed TOML: {exc}") from exc


def line_of(text: str, key: str, start: int = 0) -> int:
    """1-based line of the first ``key = ...`` at or after line ``start`` (0 if not found)."""
    pattern = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
    for number, line in enumerate(text.splitlines()[start:], start=start + 1):
        if pattern.match(line):
            return number
    return 0


def table_lines(text: str, header: str) -> list[int]:
    """0-based lines of each ``[header]`` or ``[[header]]`` table start."""
    pattern = re.compile(rf"^\s*\[\[?\s*{re.escape(header)}\s*\]\]?\s*(#.*)?$")
    return [i for i, line in enumerate(text.splitlines()) if pattern.match(line)]


def where(path: Path, text: str, key: str, start: int = 0) -> str:
    line = line_of(text, key, start)
    return f"{path}, line {line}" if line else str(path)


def check_keys(table: dict[str, Any], allowed: dict[str, type | tuple[type, ...]], path: Path,
               text: str, context: str, start: int = 0) -> None:
    """Unknown keys and wrongly typed values in a table are UsageErrors naming the line."""
    for key, value in table.items():
        if key not in allowed:
            raise UsageError(f"{where(path, text, key, start)}: unknown key {key!r} in {context}; "
                             f"expected one of {', '.join(sorted(allowed))}")
        types = allowed[key] if isinstance(allowed[key], tuple) else (allowed[key],)
        # bool is an int to isinstance(); TOML's true is not a number here.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise UsageError(f"{where(path, text, key, start)}: {context} key {key!r} must be {names}, "
                             f"got {value!r}")
