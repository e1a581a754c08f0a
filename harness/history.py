"""A metric's series over suite runs, and whether its latest point is out of line: the
lookback z-score of conbench. Each point is one suite run's median over its seeds."""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.atomic import atomic_path
from harness.errors import OutputFailed, UsageError
from harness.records import ResultsStore

DEFAULT_LOOKBACK = 10  # earlier points the latest is measured against
DEFAULT_Z = 3.0  # |z| above this flags the latest point
MIN_HISTORY = 3  # fewer earlier points than this: no judgement


@dataclass
class Point:
    suite_run: str
    label: str | None
    started: float
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def name(self) -> str:
        return self.label or self.suite_run

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))


CAPPED = "not judged: capped runs"


@dataclass
class Flag:
    z: float | None
    mean: float | None
    std: float | None
    history: int  # earlier points used
    verdict: str  # "worse", "better", "in line", "not enough history" or CAPPED

    def describe(self, threshold: float) -> str:
        if self.verdict == CAPPED:
            return ("latest point: not judged (runs capped by their budget's wall clock: their values follow the "
                    "machine's speed and load, not the model)")
        if self.z is None:
            return f"latest point: not judged ({self.history} earlier point(s); needs {MIN_HISTORY})"
        return (f"latest point: z = {self.z:+.2f} against the {self.history} before it "
                f"(mean {self.mean:.4g}, std {self.std:.4g}; |z| > {threshold:g} flags): {self.verdict}")


@dataclass
class Series:
    generator: str
    dataset: str
    budget: str
    metric: str
    direction: str
    points: list[Point] = field(default_factory=list)
    setting: str | None = None  # a sampler variant's rows are a series of their own
    # Runs cut short by their budget's wall-clock guard are a series of their own: their
    # values follow the machine's speed, so a change among them is no regression of the
    # model, and they are never judged against runs that reached the budget.
    capped: bool = False
    # Where one budget name had two definitions (a budget changed), which one this is.
    definition: str = ""

    @property
    def title(self) -> str:
        setting = f" [{self.setting}]" if self.setting else ""
        budget = f"budget {self.budget}{f' ({self.definition})' if self.definition else ''}"
        capped = " · capped runs" if self.capped else ""
        return f"{self.generator}{setting} · {self.dataset} · {budget} · {self.metric}{capped}"


def load(store: ResultsStore, generator: str, metric: str, dataset: str | None = None,
         budget: str | None = None) -> list[Series]:
    """One series per (dataset, budget, setting) the generator was measured on, oldest
    point first."""
    values = store.metric_points(generator, metric, dataset, budget)
    if not values:
        _explain_empty(store, generator, metric)
    series: dict[tuple[str, str, str | None, str, bool], Series] = {}
    definitions: dict[str, set[str]] = {}
    for v in values:
        definitions.setdefault(v.budget, set()).add(v.budget_given)
    for v in values:
        # Only a budget name defined two ways says which definition a series is.
        named = _definition(v.budget_given) if len(definitions[v.budget]) > 1 else ""
        s = series.setdefault((v.dataset, v.budget, v.setting, v.budget_given, v.capped),
                              Series(generator, v.dataset, v.budget, metric, v.direction, setting=v.setting,
                                     capped=v.capped, definition=named))
        if not s.points or s.points[-1].suite_run != v.suite_run:
            s.points.append(Point(v.suite_run, v.label, v.started, []))
        s.points[-1].values.append(v.value)
    return list(series.values())


def _definition(given: str) -> str:
    """A budget definition in a few words: ``48,000 images, 75 s guard``."""
    budget = json.loads(given)
    if budget.get("kind") == "time":
        return f"{budget.get('wall_clock_s', 0):g} s"
    return f"{budget.get('images', 0):,} images, {budget.get('wall_clock_s', 0):g} s guard"


def _explain_empty(store: ResultsStore, generator: str, metric: str) -> None:
    generators = store.generators()
    if generator not in generators:
        raise UsageError(f"no runs of generator {generator!r} in {store.where}; it has: {', '.join(generators)}")
    names = store.metric_names(generator)
    raise UsageError(f"no values of metric {metric!r} for {generator!r} (with these filters); "
                     f"its metrics: {', '.join(names) or 'none yet'}")


def judge_latest(series: Series, lookback: int = DEFAULT_LOOKBACK, threshold: float = DEFAULT_Z) -> Flag:
    """The latest point's z-score against up to ``lookback`` points before it; a series of
    capped runs is not judged."""
    earlier = [p.median for p in series.points[:-1]][-lookback:]
    if series.capped:
        return Flag(None, None, None, len(earlier), CAPPED)
    if len(earlier) < MIN_HISTORY:
        return Flag(None, None, None, len(earlier), "not enough history")
    mean, std = statistics.fmean(earlier), statistics.stdev(earlier)
    delta = series.points[-1].median - mean
    if std == 0:  # a constant history: any move at all is out of line
        z = 0.0 if delta == 0 else math.copysign(math.inf, delta)
        return Flag(z, mean, std, len(earlier), _verdict(z, threshold, series.direction))
    return Flag(delta / std, mean, std, len(earlier), _verdict(delta / std, threshold, series.direction))


def _verdict(z: float, threshold: float, direction: str) -> str:
    if abs(z) <= threshold:
        return "in line"
    return "worse" if (z > 0) == (direction == "min") else "better"


def markdown(series: Series, flag: Flag, threshold: float, by: str) -> str:
    """The series as a table, named first by ``by`` (date or label)."""
    first, second = ("date", "label") if by == "date" else ("label", "date")
    lines = [f"## {series.title} ({'lower' if series.direction == 'min' else 'higher'} is better)", "",
             f"| {first} | {second} | suite run | seeds | median | values |",
             "| --- | --- | --- | --- | --- | --- |"]
    for p in series.points:
        names = {"date": p.date, "label": p.label or ""}
        values = ", ".join(f"{v:.4g}" for v in p.values)
        lines.append(f"| {names[first]} | {names[second]} | {p.suite_run} | {len(p.values)} | "
                     f"{p.median:.4g} | {values} |")
    lines += ["", f"- {flag.describe(threshold)}"]
    return "\n".join(lines) + "\n"


def as_dict(series: Series, flag: Flag, threshold: float) -> dict:
    return {"generator": series.generator, "dataset": series.dataset, "budget": series.budget,
            "metric": series.metric, "direction": series.direction,
            "points": [{"suite_run": p.suite_run, "label": p.label, "started": p.started,
                        "median": p.median, "values": p.values} for p in series.points],
            "latest": {"z": flag.z, "mean": flag.mean, "std": flag.std, "history": flag.history,
                       "verdict": flag.verdict, "threshold": threshold}}


def plot(all_series: list[Series], flags: list[Flag], path: Path, by: str) -> Path:
    """A PNG: one line per series, each point's seeds as dots, a flagged latest point ringed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    # One x position per suite run, shared by every series, in the order they ran.
    order = sorted({(p.started, p.suite_run): p for s in all_series for p in s.points}.items())
    position = {key[1]: i for i, (key, _) in enumerate(order)}
    for series, flag in zip(all_series, flags, strict=True):
        xs = [position[p.suite_run] for p in series.points]
        label = _plain(" · ".join(filter(None, (series.dataset, series.budget, series.setting))))
        (line,) = ax.plot(xs, [p.median for p in series.points], marker="o", label=label)
        for x, p in zip(xs, series.points, strict=True):
            ax.scatter([x] * len(p.values), p.values, s=8, color=line.get_color(), alpha=0.4)
        if flag.verdict in ("worse", "better"):
            ax.scatter([xs[-1]], [series.points[-1].median], s=200, facecolors="none",
                       edgecolors="red" if flag.verdict == "worse" else "green", linewidths=2,
                       label=f"latest: {flag.verdict} (z = {flag.z:+.1f})")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([_plain(p.date if by == "date" else p.name) for _, p in order], rotation=30, ha="right",
                       fontsize=8)
    first = all_series[0]
    arrow = "↓" if first.direction == "min" else "↑"
    ax.set_title(_plain(f"{first.generator}: {first.metric} {arrow}"))
    ax.set_ylabel(_plain(first.metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    except OSError as exc:
        raise OutputFailed(f"cannot write the plot {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
    return path


def _plain(text: str) -> str:
    """Text as matplotlib must draw it: a label such as ``$\\frac{a}{b}$`` is a user's
    words, not TeX to typeset (an unknown command would abort the plot)."""
    return text.replace("$", r"\$")


def dump(all_series: list[Series], flags: list[Flag], threshold: float) -> str:
    return json.dumps([as_dict(s, f, threshold) for s, f in zip(all_series, flags, strict=True)], indent=2) + "\n"
