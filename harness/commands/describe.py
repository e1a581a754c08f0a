"""``genbench describe NAME``: what a generator, dataset, feature extractor, metric or
reporter is and how to set it up: a generator's config keys with their defaults and
meaning, its sampling keys and the datasets it fits; a dataset's options and ranking
metric; an extractor's columns. A plugin's name lists what it provides."""

from __future__ import annotations

import argparse
import inspect
import json
from typing import Any

from harness.commands.common import EXIT_OK, add_command
from harness.limits import non_empty

# Each registry, and the host's accessor of one of its names.
KIND_ORDER = {"generators": "generator", "datasets": "dataset", "feature_extractors": "feature_extractor",
              "metrics": "metric", "reporters": "reporter"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "describe", "what a generator, dataset, extractor, metric or reporter takes and needs")
    p.add_argument("name", type=non_empty, help="a name as `genbench plugins` lists it (or plugin:name), "
                                                "or a plugin's name")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output: an object, or a list of them when NAME names several things")


def run(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.plugins import KIND_WORDS, AmbiguousName, Host

    host = Host()
    found = []
    for kind in KIND_ORDER:
        try:
            found.append(_describe(host, kind, getattr(host, KIND_ORDER[kind])(args.name)))
        except AmbiguousName:
            raise
        except UsageError:
            continue
    if args.name in host.plugins and not found:
        found.append(_plugin(host, args.name))
    if not found:
        known = sorted({n for kind in KIND_ORDER for n in getattr(host, kind)} | set(host.plugins))
        raise UsageError(f"nothing called {args.name!r}: no {', '.join(KIND_WORDS[k] for k in KIND_ORDER)} or "
                         f"plugin has that name; names: {', '.join(known)}")
    if args.json:
        print(json.dumps(found if len(found) > 1 else found[0], indent=2, default=str))
    else:
        print("\n\n".join(_text(item) for item in found))
    return EXIT_OK


def _describe(host, kind: str, item: Any) -> dict[str, Any]:
    described = {"kind": kind[:-1].replace("_", " "), "name": item.name,
                 "plugin": ", ".join(host.providers(kind, item.name)) or "?"}
    return {**described, **{"generators": _generator, "datasets": _dataset, "feature_extractors": _extractor,
                             "metrics": _metric, "reporters": _reporter}[kind](host, item)}


def _doc(obj: Any) -> str:
    """The first paragraph of ``obj``'s own docstring (not one it inherits), on one
    line, without reST's double backquotes."""
    text = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
    return " ".join(text.split("\n\n")[0].split()).replace("``", "")


def _generator(host, cls) -> dict[str, Any]:
    from harness.plugins import class_path_of

    needs = cls.requires
    return {
        "class": class_path_of(cls), "description": _doc(cls), "trains": cls.trains,
        "conditional": cls.conditional, "ssim_kind": cls.ssim_kind,
        "config": [{"key": k, "default": v, "help": cls.config_help.get(k, "")} for k, v in cls.default_config.items()],
        "sampling_keys": list(cls.sampling_keys),
        "requires": {"datasets": list(needs.datasets), "channels": list(needs.channels),
                     "resolutions": list(needs.resolutions), "resolution_multiple_of": needs.resolution_multiple_of,
                     "condition_dim": needs.condition_dim},
        "datasets": _fits(host, cls),
    }


def _fits(host, cls) -> dict[str, str]:
    """Each installed dataset at its defaults: ``fits``, or why not."""
    from harness.plans import build_dataset
    from harness.requirements import DatasetShape, mismatch

    out = {}
    for name, spec in host.datasets.items():
        try:
            shape = DatasetShape.of(build_dataset(host, name, dict(spec.defaults)))
        except Exception as exc:  # a file dataset without its files: say so, describe the rest
            out[name] = f"not checked: {str(exc).split('. ')[0]}"
            continue
        out[name] = mismatch(cls, shape, name) or "fits"
    return out


def _dataset(host, spec) -> dict[str, Any]:
    return {"description": spec.description or _doc(spec.build), "rank_by": spec.rank_by,
            "options": [{"key": k, "default": v} for k, v in {**spec.defaults, "split_seed": 0}.items()]}


def _extractor(host, extractor) -> dict[str, Any]:
    from harness.metrics.feature_metrics import metrics_for

    columns = [m.name for m in metrics_for(extractor)]
    return {"description": extractor.description or _doc(type(extractor)), "columns": columns,
            "num_classes": extractor.num_classes, "feature_dim": getattr(extractor, "feature_dim", None),
            "unavailable": extractor.unavailable()}


def _metric(host, metric) -> dict[str, Any]:
    return {"description": metric.description or _doc(type(metric)), "direction": metric.direction,
            "metric_kind": metric.kind}


def _reporter(host, reporter) -> dict[str, Any]:
    return {"description": _doc(type(reporter))}


def _plugin(host, name: str) -> dict[str, Any]:
    info = host.plugins[name]
    return {"kind": "plugin", "name": name, "version": info.version, "source": info.source,
            "status": info.status, "error": info.error, "provides": info.provides}


def _text(d: dict[str, Any]) -> str:
    """The description as a person reads it."""
    head = f"{d['kind']} {d['name']}" + (f"  (plugin {d['plugin']})" if "plugin" in d else "")
    lines = [head]
    if d.get("description"):
        lines.append(f"  {d['description']}")
    if d["kind"] == "generator":
        lines.append(f"  class {d['class']} · trains: {'yes' if d['trains'] else 'no (a baseline)'} · conditional: "
                     f"{'yes' if d['conditional'] else 'no'} · SSIM: {d['ssim_kind']}")
        lines.append(f"  needs: {_needs(d['requires'])}")
        lines.append("  datasets (installed, at their defaults):")
        lines += [f"    {name:<16} {verdict}" for name, verdict in d["datasets"].items()]
        lines.append("  config (a suite entry's `config` table):" if d["config"] else "  config: none")
        width = max((len(c["key"]) for c in d["config"]), default=0)
        lines += [f"    {c['key']:<{width}}  {c['default']!r:<10} {c['help']}".rstrip() for c in d["config"]]
        if d["sampling_keys"]:
            lines.append(f"  sampling keys (a suite entry's `samplers`): {', '.join(d['sampling_keys'])}")
    elif d["kind"] == "dataset":
        lines.append(f"  ranked by: {d['rank_by']}")
        lines.append("  options (a suite entry's `dataset_options`):")
        width = max(len(o["key"]) for o in d["options"])
        lines += [f"    {o['key']:<{width}}  {o['default']!r}" for o in d["options"]]
    elif d["kind"] == "feature extractor":
        lines.append(f"  columns: {', '.join(d['columns'])}")
        if d["feature_dim"]:
            lines.append(f"  features: {d['feature_dim']} dimensions")
        if d["unavailable"]:
            lines.append(f"  unavailable here: {d['unavailable']}")
    elif d["kind"] == "metric":
        lines.append(f"  {'higher' if d['direction'] == 'max' else 'lower'} is better · kind: {d['metric_kind']}")
    elif d["kind"] == "plugin":
        lines[0] = f"plugin {d['name']} {d['version']}  [{d['status']}]  from {d['source']}"
        if d["error"]:
            lines.append(f"  error: {d['error']}")
        lines += [f"  {kind.replace('_', ' ')}: {', '.join(names)}" for kind, names in d["provides"].items()]
    return "\n".join(lines)


def _needs(r: dict[str, Any]) -> str:
    parts = []
    if r["datasets"]:
        parts.append(f"datasets {', '.join(r['datasets'])}")
    if r["condition_dim"] is not None:
        parts.append(f"conditions of width {r['condition_dim']}")
    if r["channels"]:
        parts.append(f"{' or '.join(map(str, r['channels']))} channel(s)")
    if r["resolutions"]:
        parts.append(f"resolution {', '.join(map(str, r['resolutions']))}")
    if r["resolution_multiple_of"] > 1:
        parts.append(f"a resolution divisible by {r['resolution_multiple_of']}")
    return "; ".join(parts) or "any dataset"
