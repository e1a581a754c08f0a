"""``genbench runs [REF]``: what the results database holds, newest first: its suite runs,
or the runs of one (a suite-run id, a label or a run id). The ids it lists are what
``compare``, ``report``, ``leaderboard --suite-run`` and ``run --resume`` take."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from harness import bounds
from harness.commands.common import EXIT_OK, add_command, add_json, add_store_options, existing_store
from harness.errors import one_line
from harness.limits import non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "runs", "list the suite runs in the database, or the runs of one")
    p.add_argument("ref", type=non_empty, nargs="?", default=None,
                   help="a suite-run id, label, run id or suite name (its latest suite run): list its runs "
                        "(default: list the suite runs)")
    p.add_argument("--limit", type=_positive, default=20, help="at most this many suite runs, newest first")
    add_json(p)
    add_store_options(p)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    store = existing_store(args)
    if args.ref is None:
        rows = [_suite_run_row(store, s) for s in reversed(store.suite_runs()[-args.limit:])]
        empty = f"no suite runs in {store.where}"
    else:
        latest = store.latest_suite_run(args.ref) if args.ref else None
        if latest is not None and latest.suite == args.ref and latest.label != args.ref:
            runs, what = store.runs(suite_run=latest.id), f"suite run {latest.id}"
        else:
            selection = store.resolve(args.ref)
            runs, what = selection.runs, selection.description
        rows = [_run_row(r) for r in runs]  # in the order they ran
        empty = f"no runs in {what}"
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(empty, file=sys.stderr)
    else:
        _print_table([_readable(r) for r in rows])
    return EXIT_OK


def _suite_run_row(store, record) -> dict[str, Any]:
    runs = store.runs(suite_run=record.id)
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    status = "finished" if record.finished else "running" if counts.get("running") else "unfinished"
    return {"id": record.id, "suite": record.suite, "label": record.label, "budget": record.budget,
            "status": status, "runs": len(runs), "statuses": dict(sorted(counts.items())),
            "started": _when(record.started), "wall_s": _wall(record.started, record.finished)}


def _run_row(run) -> dict[str, Any]:
    return {"id": run.id, "suite_run": run.suite_run, "generator": run.subject, "dataset": run.dataset,
            "seed": run.seed, "budget": run.budget, "status": run.status, "attempts": run.attempts,
            "images_seen": run.used.get("images_seen"), "images_budget": run.given.get("images"),
            "stopped_by": run.used.get("stopped_by"), "budget_kind": bounds.budget_kind(run),
            "started": _when(run.started), "wall_s": run.used.get("wall_s")}


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the table shows it: images seen as a share of the budget, in one column."""
    if "images_seen" not in row:
        return row
    from harness.entry_log import images

    text = images(bounds.from_values(row.pop("images_seen"), row.pop("images_budget"), row.pop("stopped_by"),
                                     row.pop("budget_kind")))
    return {k: v for k, v in row.items() if k not in ("started", "wall_s")} | {
        "images": text or None, "started": row["started"], "wall_s": row["wall_s"]}


def _when(started: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))


def _wall(started: float, finished: float | None) -> float | None:
    return None if finished is None else round(finished - started, 1)


def _print_table(rows: list[dict[str, Any]]) -> None:
    """Aligned columns; on a terminal, fitted to its width (the id column is never cut)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    keys = list(dict.fromkeys(k for r in rows for k in r))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for k in keys:
        # Cut with an ellipsis, never folded into pieces; the id, what the list is for, whole.
        table.add_column(k.replace("_s", " s") if k == "wall_s" else k, no_wrap=True, overflow="ellipsis",
                         min_width=max(len(str(r.get(k))) for r in rows) if k == "id" else None,
                         justify="right" if k in ("wall_s", "runs", "seed", "attempts") else "left")
    for r in rows:
        table.add_row(*(Text(_text(r.get(k))) for k in keys))
    tty = sys.stdout.isatty()
    console = Console(file=sys.stdout, highlight=False, width=None if tty else 10_000)
    if tty:
        console.print(table)
    else:  # a log or a pipe: whole rows, no padding to a width
        with console.capture() as captured:
            console.print(table)
        print("\n".join(line.rstrip() for line in captured.get().splitlines()))


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{n} {k}" for k, n in value.items())
    if isinstance(value, str):
        return one_line(value)
    return f"{value:.1f}" if isinstance(value, float) else str(value)
