"""The report's HTML: one self-contained file (styles, script and images inline), so it
can be attached to a CI job or mailed and still open anywhere.

The page is rendered from Jinja2 templates (``templates/``) with autoescaping on for
every template: each value a template prints is HTML-escaped, in text and in attribute
values alike, whoever wrote it (a plugin's metric name or direction, a run's failure
reason, a label, ``--title``). The code here and in ``harness.report`` hands the templates
plain data (strings, numbers, the dataclasses below) and never builds HTML. The only
markup that is not escaped is ours: the style sheet and the sorting script below, marked
safe in ``document`` and nowhere else. Images are base64 ``data:`` URIs, which contain
nothing to escape."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.leaderboard import Leaderboard

# Beside this module, so they ship in the wheel with the package (wheel.packages = ["harness"]).
TEMPLATES = Path(__file__).resolve().with_name("templates")

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

# autoescape=True rather than select_autoescape(["html"]): every template is HTML, and
# select_autoescape goes by the name's last suffix, so it would leave "*.html.j2" unescaped.
# StrictUndefined: a misspelt name in a template fails the render instead of printing "".
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class Figure:
    """An image in the page: a PNG inline as a base64 data: URI, its alt text and caption."""

    src: str
    alt: str
    caption: str
    width: int | None = None


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``row_classes`` (one per row, "" for none) are CSS classes."""

    headers: list[str]
    rows: list[list[str]]
    row_classes: list[str] = field(default_factory=list)
    id: str = ""


@dataclass(frozen=True)
class Header:
    key: str
    direction: str | None  # "min"/"max" for a metric (the script sorts best first); None: a text column
    text: str


@dataclass(frozen=True)
class Cell:
    value: str  # what the script sorts by ("" for n/a)
    text: str
    is_text: bool  # left-aligned


@dataclass(frozen=True)
class Row:
    run: str
    failed: bool
    cells: list[Cell]


@dataclass(frozen=True)
class SortableTable:
    """The leaderboard as the page shows it: sortable headers, a row per run, footnotes."""

    headers: list[Header]
    rows: list[Row]
    footnotes: list[str]


@dataclass(frozen=True)
class Section:
    """A section of the page: ``template`` (in templates/) shows ``data`` as ``s.data``."""

    id: str
    heading: str
    template: str
    data: dict[str, Any]


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(png: bytes, alt: str, caption: str, width: int | None = None) -> Figure:
    return Figure(data_uri(png), alt, caption, width)


def _sort_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return repr(float(value)) if math.isfinite(value) else ""
    return str(value)


def sortable_table(board: Leaderboard) -> SortableTable:
    headers = [Header(c.key, c.direction or None, c.header) for c in board.columns]
    rows = []
    for r in board.rows:
        cells = [Cell(_sort_value(r.get(c.key)), board.cell(r, c),
                      not (c.direction or isinstance(r.get(c.key), (int, float))))
                 for c in board.columns]
        rows.append(Row(str(r["run"]), r.get("status") != "ok", cells))
    return SortableTable(headers, rows, list(board.footnotes))


def document(title: str, subtitle: str, sections: list[Section]) -> str:
    """The page. STYLE and SCRIPT are the only markup not escaped: constants of ours."""
    page = ENV.get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=sections, style=Markup(STYLE), script=Markup(SCRIPT))
    return page + "\n"
