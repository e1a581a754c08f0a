"""The report's HTML: one self-contained file (styles, script and images inline), so it
can be attached to a CI job or mailed and still open anywhere."""

from __future__ import annotations

import base64
import math
from html import escape
from typing import Any

from harness.leaderboard import Leaderboard

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " ▲"; }
table.sortable th[aria-sort=descending]::after { content: " ▼"; }
tr.failed td { background: #fff1f0; }
.mark-worse { background: #ffd8d3; } .mark-better { background: #d9f7d9; }
.mark-failing { background: #ffb3a7; } .mark-incomparable { background: #eee; }
figure { display: inline-block; margin: .3rem 1rem .3rem 0; vertical-align: top; }
figure img { border: 1px solid #ddd; image-rendering: pixelated; }
figcaption { font-size: 12px; color: #555; }
.scroll { overflow-x: auto; }
.note { color: #555; font-size: 12px; } ul.footnotes { font-size: 12px; color: #444; }
"""

# Sorting: a click sorts by that column, best first (by the column's direction), a second
# click reverses; cells without a number (n/a) always go last.
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = table.querySelectorAll("thead th");
  headers.forEach(function (th, column) {
    th.addEventListener("click", function () {
      var bestFirst = th.dataset.direction === "max" ? "descending" : "ascending";
      var order = th.getAttribute("aria-sort") === bestFirst
        ? (bestFirst === "ascending" ? "descending" : "ascending") : bestFirst;
      headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", order);
      var sign = order === "ascending" ? 1 : -1;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
        var xMissing = x === undefined || x === "", yMissing = y === undefined || y === "";
        if (xMissing || yMissing) { return xMissing - yMissing; }
        var nx = Number(x), ny = Number(y);
        if (!isNaN(nx) && !isNaN(ny)) { return sign * (nx - ny); }
        return sign * x.localeCompare(y);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

MARK_CLASSES = {"+": "mark-worse", "-": "mark-better", "!": "mark-failing", "x": "mark-incomparable"}


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image(png: bytes, alt: str, caption: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return (f'<figure><img src="{data_uri(png)}" alt="{escape(alt)}"{size}>'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _sort_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return repr(float(value)) if math.isfinite(value) else ""
    return str(value)


def leaderboard_table(board: Leaderboard) -> str:
    head = []
    for c in board.columns:
        direction = f' data-direction="{escape(c.direction)}"' if c.direction else ""
        cls = "" if c.direction else ' class="text"'
        head.append(f'<th data-key="{escape(c.key)}"{direction}{cls} aria-sort="none">{escape(c.header)}</th>')
    body = []
    for r in board.rows:
        cells = []
        for c in board.columns:
            value = r.get(c.key)
            cls = "" if c.direction or isinstance(value, (int, float)) else ' class="text"'
            cells.append(f'<td data-value="{escape(_sort_value(value))}"{cls}>{escape(board.cell(r, c))}</td>')
        failed = ' class="failed"' if r.get("status") != "ok" else ""
        body.append(f'<tr data-run="{escape(str(r["run"]))}"{failed}>{"".join(cells)}</tr>')
    notes = "".join(f"<li>{escape(n)}</li>" for n in board.footnotes)
    return (f'<div class="scroll"><table id="leaderboard-table" class="sortable"><thead><tr>{"".join(head)}'
            f'</tr></thead><tbody>{"".join(body)}</tbody></table></div><ul class="footnotes">{notes}</ul>')


def plain_table(headers: list[str], rows: list[list[str]], row_classes: list[str] | None = None,
                table_id: str = "") -> str:
    ident = f' id="{table_id}"' if table_id else ""
    head = "".join(f'<th class="text">{escape(h)}</th>' for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f'<td class="text">{escape(c)}</td>' for c in row) + "</tr>")
    return (f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def document(title: str, subtitle: str, sections: list[tuple[str, str, str]]) -> str:
    """The page: ``sections`` are (id, heading, inner HTML)."""
    nav = " · ".join(f'<a href="#{ident}">{escape(heading)}</a>' for ident, heading, _ in sections)
    body = "".join(f'<section id="{ident}"><h2>{escape(heading)}</h2>{inner}</section>'
                   for ident, heading, inner in sections)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f'<body><h1>{escape(title)}</h1><p class="note">{escape(subtitle)}</p><nav>{nav}</nav>{body}'
            f"<script>{SCRIPT}</script></body></html>\n")
