"""The README's command table lists every subcommand the CLI has, and no other."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from harness import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_lists_every_command():
    parser = cli.parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    table = README.read_text().split("## The command line", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `genbench ([a-z-]+)", table, flags=re.M))
    assert listed == set(sub.choices)
