"""``genbench compare``'s output: a Markdown table (the terminal and the HTML report)
or JSON (machines)."""

from __future__ import annotations

import json
import math
from typing import Any

from harness.compare.judge import BETTER, FAILING, INCOMPARABLE, WORSE, Comparison, Row
from harness.compare.stats import Sample
from harness.leaderboard import ARROWS, format_value

LEGEND = "marks: + worse, - better, ! newly failing, x not comparable; values are median ± half the IQR (n)"


def sample_text(s: Sample | None) -> str:
    if s is None:
        return "n/a"
    text = format_value(s.median)
    if s.n > 1:
        text += f" ± {format_value(s.spread)}"
    return f"{text} ({s.n})"


def ratio_text(r: float | None) -> str:
    if r is None:
        return ""
    return str(r) if not math.isfinite(r) else f"{r:.3f}"


def p_text(p: float | None) -> str:
    if p is None:
        return ""
    return f"{p:.2g}" if p >= 1e-4 else "<1e-4"


NOTE_CHARS = 100  # a table cell; JSON keeps the whole reason


def cells(row: Row) -> list[str]:
    subject, context, metric = row.key
    note = row.note if len(row.note) <= NOTE_CHARS else row.note[:NOTE_CHARS - 1] + "…"
    return [row.mark, subject, context, metric, ARROWS.get(row.direction, ""), sample_text(row.base),
            sample_text(row.cand), ratio_text(row.ratio), p_text(row.p), note]


HEADERS = ["mark", "subject", "context", "metric", "better", "baseline", "candidate", "ratio", "p", "note"]


def summary(comparison: Comparison) -> str:
    counts = {m: sum(r.mark == m for r in comparison.rows) for m in (WORSE, BETTER, FAILING, INCOMPARABLE)}
    return (f"{counts[WORSE]} worse, {counts[BETTER]} better, {counts[FAILING]} newly failing, "
            f"{counts[INCOMPARABLE]} not comparable, of {len(comparison.rows)}")


def headers(comparison: Comparison) -> list[str]:
    """Column names: a subject is a generator (on a dataset) or a benchmark (in a group)."""
    names = list(HEADERS)
    names[1:3] = ["benchmark", "group"] if _is_bench(comparison) else ["generator", "dataset"]
    return names


def markdown(comparison: Comparison, only_changes: bool = False) -> str:
    rows = [r for r in comparison.rows if r.mark or not only_changes]
    headers_ = headers(comparison)
    lines = [f"## compare: {comparison.base.description} → {comparison.cand.description}", "",
             "| " + " | ".join(headers_) + " |", "|" + "|".join(" --- " for _ in headers_) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows]
    lines += ["", f"- {summary(comparison)}", f"- {comparison.policy.describe()}", f"- {LEGEND}"]
    return "\n".join(lines) + "\n"


def _is_bench(comparison: Comparison) -> bool:
    return all(r.key[2] == "time" for r in comparison.rows)


def as_dict(comparison: Comparison) -> dict[str, Any]:
    def sample(s: Sample | None) -> dict[str, Any] | None:
        return None if s is None else {"n": s.n, "median": s.median, "spread": s.spread, "mean": s.mean,
                                       "std": s.std}

    return {
        "baseline": comparison.base.description,
        "candidate": comparison.cand.description,
        "policy": {"factor": comparison.policy.factor, "alpha": comparison.policy.alpha,
                   "test": comparison.policy.test, "per_metric": comparison.policy.per_metric},
        "summary": summary(comparison),
        "rows": [{"subject": r.key[0], "context": r.key[1], "metric": r.key[2], "direction": r.direction,
                  "mark": r.mark, "baseline": sample(r.base), "candidate": sample(r.cand),
                  "ratio": r.ratio if r.ratio is None or math.isfinite(r.ratio) else str(r.ratio),
                  "p": r.p, "note": r.note} for r in comparison.rows],
    }


def to_json(comparison: Comparison) -> str:
    return json.dumps(as_dict(comparison), indent=2) + "\n"
