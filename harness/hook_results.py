"""What a plugin's provider hooks must return, and the errors that say what one returned
instead: each names the hook, the plugin and the culprit."""

from __future__ import annotations

import traceback
from typing import Any

from harness.api import DatasetSpec, ExecutorSpec, FeatureExtractor, Generator, Metric, Reporter, Requires

# Each registry: its hook, the word for one of its names, and what the hook's list holds.
KINDS = {
    "generators": ("genbench_generators", "generator", Generator, "a Generator subclass"),
    "datasets": ("genbench_datasets", "dataset", DatasetSpec, "a DatasetSpec"),
    "metrics": ("genbench_metrics", "metric", Metric, "a Metric instance"),
    "feature_extractors": ("genbench_feature_extractors", "feature extractor", FeatureExtractor,
                           "a FeatureExtractor instance"),
    "reporters": ("genbench_reporters", "reporter", Reporter, "a Reporter instance"),
    "executors": ("genbench_executors", "executor", ExecutorSpec, "an ExecutorSpec"),
}
PROVIDER_HOOKS = {kind: hook for kind, (hook, *_) in KINDS.items()}
KIND_WORDS = {kind: word for kind, (_, word, *_) in KINDS.items()}


class HookResultError(TypeError):
    """A provider hook returned something other than its declared type."""


def checked(hook: str, kind: str, result: Any, plugin: str) -> list[Any]:
    """A provider hook's result: a list (or None, for nothing) of the hook's type, each
    with a name; a HookResultError naming the hook, the plugin and the culprit otherwise."""
    if result is None:
        return []
    _, _, cls, what = KINDS[kind]
    hook_of = f"hook {hook} of plugin {plugin!r}"
    if not isinstance(result, (list, tuple)):
        raise HookResultError(f"{hook_of} returned {_describe(result)}, expected a list")
    for item in result:
        generator = kind == "generators"
        if not (isinstance(item, type) and issubclass(item, cls) if generator else isinstance(item, cls)):
            hint = " (an instance: return the class)" if generator and isinstance(item, cls) else ""
            raise HookResultError(f"{hook_of} returned a list holding {_describe(item)}, expected {what}{hint}")
        problem = _declared(kind, item)
        if problem:
            raise HookResultError(f"{hook_of} returned {_describe(item)} whose {problem}")
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise HookResultError(f"{hook_of} returned {_describe(item)} whose name is {name!r}, "
                                  "expected a non-empty str")
    return list(result)


def _declared(kind: str, item: Any) -> str | None:
    """What is wrong with a declaration the host reads from ``item``, or None."""
    if kind == "generators" and not isinstance(getattr(item, "requires", None), Requires):
        return f"requires is {getattr(item, 'requires', None)!r}, expected a harness.Requires"
    help_ = getattr(item, "config_help", None) if kind == "generators" else {}
    if not (isinstance(help_, dict) and all(isinstance(v, str) for v in help_.values())):
        return f"config_help is {help_!r}, expected a dict of config key to text"
    if kind == "datasets" and not (isinstance(item.rank_by, str) and item.rank_by):
        return f"rank_by is {item.rank_by!r}, expected a metric's name"
    if kind == "executors" and not callable(item.factory):
        return f"factory is {item.factory!r}, expected a callable that builds the executor"
    return None


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised, as `` (file:line)``: the innermost frame outside the
    import machinery, so an import failure names the plugin's own line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    return f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def _describe(value: Any) -> str:
    """A value as an error message names it: its type and a short repr."""
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} (a {type(value).__name__})" if not isinstance(value, type) else f"the class {text}"
