"""The built-in leaderboard formats: Markdown, CSV, JSON and the terminal's table."""

from __future__ import annotations

import csv
import io
import json

from harness.api import Reporter
from harness.leaderboard import Leaderboard


class MarkdownReporter(Reporter):
    """A Markdown table under the title, then the footnotes as a list."""

    name = "md"

    def render(self, table: Leaderboard) -> str:
        headers = [c.header for c in table.columns]
        body = [[table.cell(r, c) for c in table.columns] for r in table.rows]
        lines = [f"## {table.title}", "", "| " + " | ".join(headers) + " |",
                 "|" + "|".join(" --- " for _ in headers) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
        if table.footnotes:
            lines.append("")
            lines += [f"- {note}" for note in table.footnotes]
        return "\n".join(lines) + "\n"


class CsvReporter(Reporter):
    """CSV with plain numbers: a column per metric, and one per standard deviation."""

    name = "csv"

    def render(self, table: Leaderboard) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        # Plain numbers: a KID column's std gets a column of its own.
        keys = [k for c in table.columns for k in (c.key, c.std_key) if k]
        headers = {c.key: c.header for c in table.columns} | {c.std_key: f"{c.key} std" for c in table.columns}
        writer.writerow([headers[k] for k in keys])
        for r in table.rows:
            writer.writerow(["" if r.get(k) is None else r.get(k) for k in keys])
        return buf.getvalue()


class JsonReporter(Reporter):
    """The title, columns, rows (every value, unformatted) and footnotes as JSON."""

    name = "json"

    def render(self, table: Leaderboard) -> str:
        return json.dumps({
            "title": table.title,
            "columns": [{"key": c.key, "header": c.header, "direction": c.direction, "std_key": c.std_key}
                        for c in table.columns],
            "rows": table.rows,
            "footnotes": table.footnotes,
            "rank_by": table.rank_by,
            "rankings": table.rankings,
        }, indent=2, default=str) + "\n"


class TerminalReporter(Reporter):
    """The table a terminal shows (``harness.terminal_view``): the columns that matter,
    fitted to a width. ``render`` gives it as plain text at the default width; the
    commands print it through :meth:`show` with the terminal's width and colours."""

    name = "term"

    def render(self, table: Leaderboard) -> str:
        from rich.console import Console

        from harness.terminal_view import MAX_WIDTH, View

        console = Console(file=io.StringIO(), width=MAX_WIDTH, color_system=None, force_terminal=False)
        self.show(console, table, View())
        return "".join(line.rstrip() + "\n" for line in console.file.getvalue().splitlines())

    @staticmethod
    def show(console, table: Leaderboard, view) -> None:
        """Prints ``table`` on a rich ``console`` as a :class:`harness.terminal_view.View` says."""
        from harness.terminal_view import render

        render(console, table, view)
