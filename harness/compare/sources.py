"""What ``genbench compare`` compares: the observations of each (subject, context,
metric), read from the results database (runs over seeds) or from pytest-benchmark JSON
(benchmark rounds). A subject is a generator or a benchmark; a context is a dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness import bounds
from harness.compare.stats import Sample
from harness.errors import UsageError
from harness.records import MetricValue, ResultsStore, Run

Key = tuple[str, str, str]  # (subject, context, metric)

# What must match for two results to be comparable; a mismatch is marked "x". The device
# matters for timing, for a time budget (what a run saw depends on it) and for a run
# capped by its wall-clock guard; an images budget's quality is the same anywhere.
SETUP_FIELDS = ("budget", "bound", "n", "extractor", "device")
BUDGET_IGNORED = ("seeds", "description")
CAPPED, NOT_CAPPED = "capped by the wall clock", "not capped"
# The key that stands for a generator whose every run on one side failed.
STATUS = "status"


@dataclass
class Observations:
    """One side's results for one key."""

    direction: str
    values: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # failed runs, unavailable metric
    setups: set[tuple[tuple[str, str], ...]] = field(default_factory=set)
    summary: Sample | None = None  # when only summary statistics are known

    def sample(self) -> Sample | None:
        if self.summary is not None:
            return self.summary
        return Sample.of(self.values) if self.values else None


@dataclass
class Side:
    """A resolved BASELINE or CANDIDATE: what it was asked as, and its observations."""

    ref: str
    description: str
    observations: dict[Key, Observations]


# -- the results database -------------------------------------------------------------

def _setup(run: Run, metric: MetricValue) -> tuple[tuple[str, str], ...]:
    given = {k: v for k, v in run.given.items() if k not in BUDGET_IGNORED} | {"kind": bounds.budget_kind(run)}
    bound = bounds.of(run)
    setup = [("budget", json.dumps(given, sort_keys=True)), ("bound", CAPPED if bound.capped else NOT_CAPPED),
             ("n", str(metric.n)), ("extractor", str(metric.details.get("extractor", "-")))]
    if metric.kind == "timing" or bound.capped or bound.budget_kind == "time":
        setup.append(("device", run.env.get("device_name", "?")))
    return tuple(setup)


def from_store(store: ResultsStore, ref: str) -> Side:
    """Every finished or failed run the reference names, as observations per key."""
    selection = store.resolve(ref)
    runs = [r for r in selection.runs if r.done]
    if not runs:
        raise UsageError(f"{selection.description} in {store.where} has no finished or failed runs to compare")
    obs: dict[Key, Observations] = {}
    failed: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        group = (run.subject, run.dataset)
        if run.status == "failed":
            failed.setdefault(group, []).append(f"run {run.id} failed: {run.reason}")
            continue
        for m in store.metrics(run.id):
            if m.value is None and m.unavailable is None:
                continue  # does not apply (no training throughput for a baseline)
            o = obs.setdefault((*group, m.name), Observations(m.direction))
            o.setups.add(_setup(run, m))
            if m.value is None:
                o.failures.append(f"unavailable in run {run.id}: {m.unavailable}")
            else:
                o.values.append(float(m.value))
    for group, reasons in failed.items():
        for key, o in obs.items():
            if key[:2] == group:
                o.failures += reasons
        if not any(key[:2] == group for key in obs):  # every run of it failed
            obs[(*group, STATUS)] = Observations("max", failures=list(reasons))
    return Side(ref, f"{selection.description}, {len(runs)} run(s)", obs)


# -- pytest-benchmark JSON ------------------------------------------------------------

def _machine(data: dict) -> str:
    info = data.get("machine_info", {})
    # The CPU, not the host name: CI runners of one kind are interchangeable.
    return info.get("cpu", {}).get("brand_raw") or info.get("processor") or "unknown machine"


def from_bench_json(path: Path) -> Side:
    """A pytest-benchmark JSON file (``make bench``): one key per benchmark, metric
    ``time`` (seconds per call, lower is better). Raw rounds are used when the file has
    them (``--benchmark-save-data``); otherwise the test runs on the summary statistics."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not JSON text ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise UsageError(f"{path} is not pytest-benchmark JSON (no 'benchmarks' list)")
    machine = _machine(data)
    obs: dict[Key, Observations] = {}
    for b in data["benchmarks"]:
        try:
            s = b["stats"]
            per = float((b.get("extra_info") or {}).get("repeats", 1))  # calls per timed round
            summary = Sample(int(s["rounds"]), float(s["median"]) / per, float(s["iqr"]) / 2 / per,
                             float(s["mean"]) / per, float(s["stddev"]) / per,
                             tuple(float(v) / per for v in s.get("data") or ()))
            name = b["fullname"]
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{path}: benchmark entry without the usual stats ({exc!r})") from exc
        obs[(name, b.get("group") or "", "time")] = Observations(
            "min", list(summary.values), setups={(("device", machine),)}, summary=summary)
    return Side(str(path), f"{path} ({len(obs)} benchmarks, {machine})", obs)
