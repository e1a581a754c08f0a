"""Database rows decoded into typed records, every value checked as it is read. A file
damaged on disk or by hand (a flipped byte, bad JSON in a column, text where a number
belongs) is bad input named by its file, table, row and column: never a traceback
further on, and never a wrong number passed on as if it were right."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from harness.errors import UsageError
from harness.records.processes import ProcessId
from harness.records.rundir import RunDir
from harness.records.types import Evaluation, MetricPoint, MetricValue, Run, RunStatus, SuiteRun

STATUSES: tuple[str, ...] = get_args(RunStatus)
LAST_TIME = 253402300800.0  # 10000-01-01: a later timestamp is damage
MAX_PID = 2**31 - 1
REMEDY = "the database is damaged: restore it from a backup, or pass another --db"

# The keys of a JSON column that genbench writes itself and reads, and the types each may
# hold (or null); other keys (a plugin's metric details, say) are kept as they are.
_STR, _INT, _NUM, _DICT, _LIST = (str,), (int,), (int, float), (dict,), (list,)
_ENV = {"device_name": _STR, "versions": _DICT, "git_commit": _STR, "seeds": _LIST}
_BUDGET = {"name": _STR, "images": _INT, "wall_clock_s": _NUM, "eval_every": _INT, "n_samples": _INT,
           "seeds": _LIST, "early_stopping_patience": _INT, "description": _STR, "kind": _STR}
FIELDS: dict[tuple[str, str], dict[str, tuple[type, ...]]] = {
    ("suite_runs", "options"): {"source": _STR, "runs": _INT},
    ("suite_runs", "env"): _ENV,
    ("runs", "options"): {"suite": _STR, "suite_run": _STR, "run_id": _STR, "generator": _STR,
                          "generator_class": _STR, "dataset": _STR, "config": _DICT, "dataset_options": _DICT,
                          "budget": _DICT, "seed": _INT, "device": _STR, "samplers": _LIST, "trained_in": _STR,
                          "rank_by": _STR},
    ("runs", "given"): _BUDGET,
    ("runs", "used"): {"images_seen": _INT, "steps": _INT, "epochs": _INT, "train_s": _NUM, "wall_s": _NUM,
                       "stopped_by": _STR, "setting": _STR, "trained_in": _STR},
    ("runs", "env"): _ENV,
    ("evaluations", "values_json"): {"images_seen": _INT, "wall_s": _NUM, "steps": _INT, "epoch": _INT},
}


def show(value: Any) -> str:
    """A stored value as a message names it: its type, and the start of it."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"a blob of {len(value)} bytes"
    if isinstance(value, str):
        return f"the text {value[:40]!r}{'...' if len(value) > 40 else ''}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    text = json.dumps(value)
    return f"the JSON {type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # a boolean is no number, though Python says it is an int
    return isinstance(value, types)


class Row:
    """One row of ``table`` being decoded; each accessor checks its column."""

    def __init__(self, path: object, table: str, row: Mapping[str, Any], key: str) -> None:
        self.path, self.table, self.row, self.key = path, table, row, key

    def bad(self, column: str, what: str, expected: str) -> UsageError:
        return UsageError(f"{self.path}: table {self.table}, row {self.key}, column {column}: {what}; "
                          f"expected {expected} ({REMEDY})")

    def _get(self, column: str, null: bool, expected: str) -> Any:
        value = self.row[column]
        if value is None and not null:
            raise self.bad(column, "NULL", expected)
        return value

    def text(self, column: str, null: bool = False, nonempty: bool = False) -> str | None:
        expected = "a non-empty text" if nonempty else "a text"
        value = self._get(column, null, expected)
        if value is not None and (not isinstance(value, str) or (nonempty and not value.strip())
                                  or "\x00" in value):
            raise self.bad(column, show(value), expected)
        return value

    def choice(self, column: str, choices: tuple[str, ...]) -> str:
        value = self._get(column, False, f"one of {', '.join(choices)}")
        if value not in choices:
            raise self.bad(column, show(value), f"one of {', '.join(choices)}")
        return value

    def integer(self, column: str, null: bool = False, low: int | None = None, high: int | None = None) -> int | None:
        expected = "a whole number" + (f" from {low}" if low is not None else "") + (
            f" to {high}" if high is not None else "")
        value = self._get(column, null, expected)
        if value is not None and (not _fits(value, _INT) or (low is not None and value < low)
                                  or (high is not None and value > high)):
            raise self.bad(column, show(value), expected)
        return value

    def number(self, column: str, null: bool = False, low: float | None = None,
               high: float | None = None) -> float | None:
        expected = "a finite number" + (f" from {low:g}" if low is not None else "") + (
            f" to {high:g}" if high is not None else "")
        value = self._get(column, null, expected)
        if value is not None and (not _fits(value, _NUM) or not math.isfinite(value)
                                  or (low is not None and value < low) or (high is not None and value > high)):
            raise self.bad(column, show(value), expected)
        return value

    def time(self, column: str, null: bool = False) -> float | None:
        return self.number(column, null, 0.0, LAST_TIME)

    def json_object(self, column: str, null: bool = False) -> dict[str, Any]:
        """A JSON column that holds an object (NULL reads as {} where allowed)."""
        text = self._get(column, null, "a JSON object")
        if text is None:
            return {}
        if not isinstance(text, str):
            raise self.bad(column, show(text), "a JSON object")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.bad(column, f"not JSON ({exc.msg} at character {exc.pos})", "a JSON object") from None
        except RecursionError:
            raise self.bad(column, "JSON nested too deeply", "a JSON object") from None
        if not isinstance(value, dict):
            raise self.bad(column, show(value), "a JSON object")
        for key, types in FIELDS.get((self.table, column), {}).items():
            if value.get(key) is not None and not _fits(value[key], types):
                names = " or ".join({"dict": "a JSON object", "list": "a JSON list", "str": "a text",
                                     "int": "a whole number", "float": "a number", "bool": "true or false"}[t.__name__]
                                    for t in types)
                raise self.bad(f"{column} (key {key!r})", show(value[key]), f"{names} or null")
        return value


def suite_run(path: object, row: Mapping[str, Any]) -> SuiteRun:
    r = Row(path, "suite_runs", row, f"id {row['id']!r}")
    return SuiteRun(r.text("id", nonempty=True), r.text("suite"), r.text("label", null=True),
                    r.text("budget", null=True), r.time("started"), r.time("finished", null=True),
                    r.json_object("options"), r.json_object("env"))


def run(path: object, row: Mapping[str, Any]) -> Run:
    r = Row(path, "runs", row, f"id {row['id']!r}")
    id, suite_run = r.text("id", nonempty=True), r.text("suite_run", nonempty=True)
    status, reason = r.choice("status", STATUSES), r.text("reason", null=True)
    run_dir = Path(r.text("run_dir", nonempty=True))
    running = process(r)
    if status == "running" and running is None:  # recorded before processes were: long gone
        status, reason = "interrupted", f"interrupted; continue with: genbench run --resume {suite_run}"
    elif status == "running" and (running.alive() is False
                                  or (running.alive() is None and not RunDir(run_dir).held())):
        status, reason = "interrupted", (f"its process ({running.describe()}) is gone; continue with: "
                                         f"genbench run --resume {suite_run}")
    return Run(id, suite_run, r.text("generator", nonempty=True), r.text("dataset", nonempty=True),
               r.text("budget"), r.integer("seed", low=0), status, reason, r.integer("failed_step", null=True),
               run_dir, r.json_object("options"), r.json_object("given"), r.json_object("used", null=True),
               r.json_object("env"), r.time("started"), r.time("finished", null=True), running,
               r.integer("attempts", low=0))


def process(r: Row) -> ProcessId | None:
    pid = r.integer("pid", null=True, low=1, high=MAX_PID)
    host = r.text("host", null=pid is None)
    return None if pid is None else ProcessId(host, pid, r.number("pid_started", null=True, low=0.0))


def metric_value(path: object, row: Mapping[str, Any]) -> float | None:
    """A metric's value: a finite number, or NULL (unavailable, or does not apply)."""
    value = row["value"]
    if value is not None and (not _fits(value, _NUM) or not math.isfinite(value)):
        raise UsageError(f"{path}: run {row['run_id']!r}, metric {row['name']!r} has {show(value)} as its value "
                         f"(table metrics); a metric's value is a finite number, or NULL when unavailable ({REMEDY})")
    return value


def metric(path: object, row: Mapping[str, Any]) -> MetricValue:
    r = Row(path, "metrics", row, f"run {row['run_id']!r}, metric {row['name']!r}")
    # The direction and kind as written (a plugin's metric says them; a report escapes them).
    kind, details = r.text("kind", nonempty=True), r.json_object("details")
    small_n = kind == "fd" and details.get("small_n")  # flagged with its N (and the real data's) in a leaderboard
    n = r.integer("n", null=not small_n, low=0)
    if small_n and not _fits(details.get("n_real", 0), _INT):
        raise r.bad("details (key 'n_real')", show(details["n_real"]), "a whole number")
    return MetricValue(r.text("name", nonempty=True), metric_value(path, row), r.text("direction", nonempty=True),
                       kind, n, details, r.text("unavailable", null=True))


def metric_point(path: object, row: Mapping[str, Any]) -> MetricPoint:
    """A row of the join of metrics, runs and suite_runs that ``metric_points`` reads."""
    m = Row(path, "metrics", row, f"run {row['run_id']!r}, metric {row['name']!r}")
    r = Row(path, "runs", row, f"id {row['id']!r}")
    s = Row(path, "suite_runs", row, f"id {row['suite_run']!r}")
    used, given = r.json_object("used", null=True), r.json_object("given")
    # An images budget's guard (runs recorded before budgets had kinds had images budgets).
    capped = used.get("stopped_by") == "wall_clock" and given.get("kind", "images") == "images"
    definition = json.dumps({k: v for k, v in given.items() if k not in ("seeds", "description")}
                            | {"kind": given.get("kind", "images")}, sort_keys=True)
    return MetricPoint(r.text("dataset", nonempty=True), r.text("budget"), used.get("setting"),
                       r.text("suite_run", nonempty=True), s.text("label", null=True), s.time("started"),
                       r.integer("seed", low=0), float(metric_value(path, row)), m.text("direction", nonempty=True),
                       definition, capped)


def evaluation(path: object, row: Mapping[str, Any]) -> Evaluation:
    r = Row(path, "evaluations", row, f"run {row['run_id']!r}, images_seen {row['images_seen']!r}")
    return Evaluation(r.text("run_id"), r.integer("images_seen", low=0), r.number("wall_s", low=0.0),
                      r.json_object("values_json"))
