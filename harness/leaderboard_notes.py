"""The notes under a leaderboard: how its rows are ranked where that is not one metric
with values, metrics unavailable and why, the small-N FD flag, the SSIM kinds, and the
runs cut short by their budget's wall-clock guard."""

from __future__ import annotations

FD_FLAG = "†"


def ranking_notes(rankings: dict[str, str], rows: list[dict]) -> list[str]:
    """What ranks the rows, where that is not one metric with values."""
    notes = []
    if len(rankings) > 1:
        notes.append("grouped by dataset, each ranked by its metric: "
                     + ", ".join(f"{dataset} by {metric}" for dataset, metric in rankings.items()))
    for dataset, metric in rankings.items():
        if not any(r.get(metric) is not None for r in rows if r["dataset"] == dataset):
            notes.append(f"{dataset} rows not ranked: none has a value of {metric}, its ranking metric "
                         "(rank by another metric with --rank-by)")
    return notes


def interval_note(rows: list[dict]) -> list[str]:
    """What a bracketed interval after a value is, where a row has one."""
    if not any(key.endswith(" interval") and value is not None for r in rows for key, value in r.items()):
        return []
    return ["[low, high]: the 90% interval of the value another draw of N samples from the same trained "
            "generator would give (sampling noise only; docs/metrics.md, Sampling uncertainty)"]


def capped_notes(guards: dict) -> list[str]:
    """What "capped at N%" means, naming the wall-clock guards (seconds) that capped rows."""
    if not guards:
        return []
    seconds = ", ".join(f"{g:g} s" for g in guards if isinstance(g, (int, float)))
    return [f"capped at N%: training stopped at its budget's wall-clock guard ({seconds}) after N% of its "
            "images; its figures depend on this machine's speed and load, so genbench compare does not "
            "compare it with a run that reached its budget"]


def metric_notes(rows: list[dict], unavailable: dict, small_n: dict) -> list[str]:
    """The small-N FD flag, the metrics unavailable and why, and the SSIM kinds."""
    notes = []
    for name, ns in small_n.items():
        notes.append(f"{FD_FLAG} {name} from N = {', '.join(map(str, sorted(ns)))} < 2048 samples: FD is biased "
                     f"upward at small N, so compare it only within this table (KID is unbiased at any N; "
                     f"{name}-inf, FD extrapolated to infinite N, removes most of the bias where N is "
                     "several times the features' dimensions)")
    for reason, (names, generators) in unavailable.items():
        notes.append(f"{', '.join(names)} n/a for {', '.join(generators)}: {reason}")
    if any(r.get("ssim_kind") for r in rows):
        notes.append("ssim kind: paired = against the ground truth of the same condition; "
                     "reconstruction = autoencoder output against its input; "
                     "nearest-real = each sample's best match in a reference set")
    return notes
