"""The built-in leaderboard formats: Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json

from harness.api import Reporter
from harness.leaderboard import Leaderboard


class MarkdownReporter(Reporter):
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
    name = "json"

    def render(self, table: Leaderboard) -> str:
        return json.dumps({
            "title": table.title,
            "columns": [{"key": c.key, "header": c.header, "direction": c.direction, "std_key": c.std_key}
                        for c in table.columns],
            "rows": table.rows,
            "footnotes": table.footnotes,
        }, indent=2, default=str) + "\n"
