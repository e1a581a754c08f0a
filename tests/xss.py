"""A hostile results database for the report's escaping tests: every string a plugin or a
user controls is an XSS payload, planted through the real ResultsStore API. Each payload
would set ``window.__xss`` (and raise an alert) if a browser ran it, and names the field
it was planted in, so a test can check that each one shows up as text, intact."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from harness.budgets import NAMED
from harness.records import MetricValue, ResultsStore

# The pieces: a script element, an attribute break-out with a double quote and with a
# single quote, a closing of the raw-text elements the page has (title, style, script),
# and a javascript: URL.
SCRIPT = "<script>alert(1)</script>"
PIECES = (
    "<script>window.__xss=1;alert(1)</script>",
    SCRIPT,
    '"><img src=x onerror="window.__xss=1;alert(1)">',
    "' onmouseover='window.__xss=1' x='",
    "</title></style></script><svg onload=window.__xss=1>",
    "javascript:window.__xss=1",
)

# The pieces that are markup: each has a character (< " ') that must come out escaped.
MARKUP_PIECES = tuple(p for p in PIECES if any(c in p for c in "<\"'"))


def xss(field: str) -> str:
    """The payload planted in ``field``."""
    return f"{field}:" + "".join(PIECES)


# Planted and expected to show up, each as readable text (or an attribute value) in the page.
SHOWN = ("suite", "label-base", "label-cand", "budget", "suite-run-base", "suite-run-cand", "run", "generator",
         "dataset", "setting", "reason", "metric", "direction", "unavailable", "ssim-kind", "env-key",
         "env-value", "device", "package", "version", "title")
# Planted but not printed in the page (used for ordering, only drawn in a PNG, or a KID's
# std over subsets, which is in the CSV but not in a cell).
NOT_SHOWN = ("extractor", "loss", "std")

TITLE = xss("title")
LABELS = (xss("label-base"), xss("label-cand"))


def _png(path: Path) -> None:
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())


def plant(store: ResultsStore, root: Path) -> list[str]:
    """Two suite runs (labels LABELS) of two seeds each; the second seed of each fails.
    Returns the run ids."""
    env = {"device_name": xss("device"), xss("env-key"): xss("env-value"),
           "nested": {"k": xss("env-value")}, "versions": {xss("package"): xss("version")}}
    run_ids = []
    for side, label in zip(("base", "cand"), LABELS, strict=True):
        suite_run = xss(f"suite-run-{side}")
        store.add_suite_run(suite_run, xss("suite"), label, xss("budget"), {}, env)
        for seed in (0, 1):
            run_id = f"{xss('run')}-{side}-{seed}"
            run_dir = root / f"{side}-{seed}"
            run_dir.mkdir(parents=True)
            _png(run_dir / "samples.png")
            store.add_run(id=run_id, suite_run=suite_run, generator=xss("generator"), dataset=xss("dataset"),
                          budget=xss("budget"), seed=seed, run_dir=run_dir, options={"config": {}},
                          given=NAMED["quick"].as_dict(), env=env)
            store.add_evaluation(run_id, 100, 1.0, {f"train/{xss('loss')}": 1.0, "train/loss": 0.5})
            store.add_evaluation(run_id, 200, 2.0, {f"train/{xss('loss')}": 0.8, "train/loss": 0.4})
            if seed == 1:
                store.finish_run(run_id, "failed", {"setting": xss("setting")}, [], reason=xss("reason"),
                                 failed_step=3)
            else:
                metrics = [
                    MetricValue(xss("metric"), 5.0 if side == "base" else 7.0, xss("direction"), "fd", 64,
                                {"extractor": xss("extractor"), "std": xss("std")}),
                    MetricValue("ssim", 0.8, "max", "ssim", 64, {"kind": xss("ssim-kind")}),
                    MetricValue("fid", None, "min", "fd", 64, {"extractor": "inception"},
                                unavailable=xss("unavailable")),
                ]
                store.finish_run(run_id, "ok", {"images_seen": 200, "wall_s": 2.0, "setting": xss("setting")},
                                 metrics)
            run_ids.append(run_id)
        store.finish_suite_run(suite_run)
    return run_ids
