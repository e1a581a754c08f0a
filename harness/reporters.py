"""The built-in leaderboard formats: Markdown, CSV, JSON and the terminal's table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

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
        # Plain numbers: a KID's std, an interval's ends and a spread over seeds get
        # columns of their own.
        cells: list[tuple[str, Callable[[dict], Any]]] = []
        for c in table.columns:
            if c.key == "status":  # with what bound a run cut short: "ok · capped at 36%"
                cells.append((c.header, lambda r, c=c: table.cell(r, c)))
                continue
            cells.append((c.header, lambda r, k=c.key: r.get(k)))
            if c.std_key:
                cells.append((f"{c.key} std", lambda r, k=c.std_key: r.get(k)))
            if c.interval_key:
                for end, name in enumerate(("low", "high")):
                    cells.append((f"{c.key} {name}", lambda r, k=c.interval_key, i=end: (r.get(k) or (None, None))[i]))
            if c.spread_key:
                cells.append((f"{c.key} ± over seeds", lambda r, k=c.spread_key: r.get(k)))
        writer.writerow([header for header, _ in cells])
        for r in table.rows:
            writer.writerow(["" if (v := value(r)) is None else v for _, value in cells])
        return buf.getvalue()


class JsonReporter(Reporter):
    """The title, columns, rows (every value, unformatted) and footnotes as JSON."""

    name = "json"

    def render(self, table: Leaderboard) -> str:
        return json.dumps({
            "title": table.title,
            "columns": [{"key": c.key, "header": c.header, "direction": c.direction, "std_key": c.std_key,
                         "interval_key": c.interval_key, "spread_key": c.spread_key}
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
