"""The leaderboard as a terminal shows it: a table that fits the screen, with the columns
a person reads first. The Markdown, CSV and JSON files keep every column; this view
says how many it hides and where to find them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from harness.errors import UsageError
from harness.leaderboard import Column, Leaderboard

MAX_WIDTH = 120  # the default cap, however wide the terminal: a table is read, not scanned
# Long free text (a failure reason, a staged generator's setting) is cut with an ellipsis
# to fit, never shorter than this: below it, another column goes instead.
CUT_MIN = 12
CUTTABLE = ("generator", "setting", "status")
# Control characters from a plugin's names or a failure reason must not move the cursor.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class View:
    """What to show: ``width`` the most columns of text; ``wide`` every column that has a
    value; ``columns`` exactly these (keys or headers); ``more`` where the rest are.
    ``strict``: a name in ``columns`` that is no column is an error, else a note (after
    ``genbench run``, whose results are recorded by then)."""

    width: int = MAX_WIDTH
    wide: bool = False
    columns: tuple[str, ...] = ()
    more: str = "the Markdown, CSV or JSON format"
    strict: bool = True


def render(console: Console, board: Leaderboard, view: View) -> None:
    """Prints ``board`` on ``console`` as ``view`` says."""
    with_values = [c for c in board.columns if any(r.get(c.key) is not None for r in board.rows)]
    unknown: list[str] = []
    if view.columns:
        shown, unknown = _picked(board.columns, view.columns)
        if unknown and view.strict:
            raise UsageError(f"--columns: no column {', '.join(map(repr, unknown))} in this leaderboard; its "
                             f"columns are {', '.join(c.key for c in board.columns)}")
    elif view.wide:
        shown = with_values
    else:
        shown = _fitted(board, _default_columns(board, with_values), view.width)
    table, width = _table(board, shown, None if view.wide or view.columns else view.width)
    parts: list = [Text(_clean(board.title), style="bold"), table]
    hidden = [c for c in with_values if c not in shown]
    if hidden or len(with_values) < len(board.columns):
        parts.append(_hidden_note(hidden, len(board.columns) - len(with_values), view.more))
    if unknown:
        parts.append(Text(f"--columns: no column {', '.join(map(repr, unknown))} here (ignored).", style="yellow"))
    parts += [Text(f"- {_clean(note)}", style="dim") for note in board.footnotes]
    # The fitted table is at most view.width; a table the user chose (--wide, --columns)
    # is as wide as it is, and the notes under it wrap at the same width.
    fits = min(console.width, view.width)
    console.width = max(width, fits) if view.wide or view.columns else fits
    console.print(Group(*parts), soft_wrap=False, crop=False)


def _default_columns(board: Leaderboard, candidates: list[Column]) -> list[Column]:
    """The columns a person reads first, most important first: who, how it ended, the
    ranking metric, then what tells rows apart, SSIM and training speed."""
    # Seeds tell rows apart, and a row over several seeds says which it stands for.
    seeds = {r.get("seed") for r in board.rows} | {"several" for r in board.rows if r.get("seeds")}
    ranking = dict.fromkeys([board.rank_by, *board.rankings.values()])
    wanted = ["generator", "status", *ranking, "dataset", "setting", "seed" if len(seeds) > 1 else None,
              "images", *(f"{r}-inf" for r in ranking if r), "ssim", "ssim_kind", "train_images_per_s"]
    by_key = {c.key: c for c in candidates}
    return [by_key[k] for k in wanted if k in by_key]


def _picked(columns: list[Column], names: tuple[str, ...]) -> tuple[list[Column], list[str]]:
    """The columns ``names`` pick, in that order, and the names that are no column."""
    known = {c.key: c for c in columns} | {c.header: c for c in columns} | {_bare(c.header): c for c in columns}
    picked = {known[n].key: known[n] for n in names if n in known}
    return list(picked.values()), [n for n in names if n not in known]


def _bare(header: str) -> str:
    return header.rstrip(" ↑↓")


def _fitted(board: Leaderboard, by_priority: list[Column], width: int) -> list[Column]:
    """The most important columns that fit ``width``, in the leaderboard's order; the
    setting and the status may be cut (with an ellipsis), down to CUT_MIN characters."""
    keep = list(by_priority)
    while len(keep) > 1:
        ordered = [c for c in board.columns if c in keep]
        _, natural = _table(board, ordered, None)
        if natural - sum(_slack(board, c) for c in ordered) <= width:
            return ordered
        keep.pop()
    return keep


def _slack(board: Leaderboard, column: Column) -> int:
    """How much narrower a column can be cut: a status only down to its longest one that
    is not a failure's, so "ok · capped at 36%" is never cut to "ok · capped…"."""
    if column.key not in CUTTABLE:
        return 0
    floor = CUT_MIN
    if column.key == "status":
        floor = max([CUT_MIN] + [cell_len(_clean(board.cell(r, column))) for r in board.rows
                                 if not str(r.get("status", "")).startswith("failed")])
    return max(0, _natural_width(board, column) - floor)


def _table(board: Leaderboard, columns: list[Column], width: int | None) -> tuple[Table, int]:
    """The table and its width; with ``width``, the cuttable columns are cut to fit it,
    the widest first."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for c in columns:
        table.add_column(_clean(c.header), no_wrap=True, overflow="ellipsis",
                         justify="right" if c.direction else "left",
                         style="bold" if c.key == board.rank_by else None)
    for row in board.rows:
        table.add_row(*(_cell(board, row, c) for c in columns))
    natural = Console(width=10_000).measure(table).maximum
    if width is not None and natural > width:
        excess = natural - width
        for i in sorted(range(len(columns)), key=lambda i: -_slack(board, columns[i])):
            cut = min(excess, _slack(board, columns[i]))
            if cut:
                table.columns[i].max_width = _natural_width(board, columns[i]) - cut
                excess -= cut
        natural = Console(width=10_000).measure(table).maximum
    return table, natural


def _natural_width(board: Leaderboard, column: Column) -> int:
    return max([cell_len(column.header)] + [cell_len(_clean(board.cell(r, column))) for r in board.rows])


def _cell(board: Leaderboard, row: dict, column: Column) -> Text:
    text = _clean(board.cell(row, column))
    if column.key == "status":
        return Text(text, style="green" if text == "ok" else "red" if text.startswith("failed") else "yellow")
    return Text(text, style="dim" if text == "n/a" else "")


def _hidden_note(hidden: list[Column], without_values: int, more: str) -> Text:
    parts = []
    if hidden:
        names = ", ".join(c.key for c in hidden)
        parts.append(f"{len(hidden)} more column{'s' if len(hidden) != 1 else ''} hidden ({names}): "
                     f"show them with --wide or --columns NAME,NAME, or see {more}")
    if without_values:
        parts.append(f"{without_values} column{'s' if without_values != 1 else ''} with no value in any row "
                     "not shown")
    return Text("; ".join(parts) + ".", style="dim")


def _clean(text: str) -> str:
    return _CONTROL.sub("?", text)
