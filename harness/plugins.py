"""The plugin host: loads plugins from the ``genbench`` entry-point group, isolates the
broken ones, and collects what the working ones provide.

This is pluggy's ``load_setuptools_entrypoints("genbench")`` with one change: each
entry point is loaded, registered and validated on its own, so that one broken plugin
is reported by name and the others still run. ``GENBENCH_PLUGINS_STRICT=1`` re-raises.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from harness import hookspecs
from harness.api import DatasetSpec, FeatureExtractor, Generator, Metric, Reporter
from harness.errors import UsageError
from harness.markers import PROJECT
from harness.metrics import feature_metrics

ENTRY_POINT_GROUP = PROJECT
PROVIDER_HOOKS = {
    "generators": "genbench_generators",
    "datasets": "genbench_datasets",
    "metrics": "genbench_metrics",
    "feature_extractors": "genbench_feature_extractors",
    "reporters": "genbench_reporters",
}


class PluginLoadError(RuntimeError):
    """A plugin failed to load or validate (raised only in strict mode)."""


@dataclass
class PluginInfo:
    """One plugin as ``genbench plugins`` lists it."""

    name: str
    version: str
    source: str
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    @property
    def broken(self) -> bool:
        return self.error is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "hooks": self.hooks,
            "status": "broken" if self.broken else "ok",
            "error": self.error,
            **self.provides,
        }


def strict_mode() -> bool:
    return os.environ.get("GENBENCH_PLUGINS_STRICT", "").strip().lower() in ("1", "true", "yes")


class Host:
    """The plugin manager plus registries of generators, datasets, metrics and reporters."""

    def __init__(self, plugins: list[tuple[str, object]] | None = None, strict: bool | None = None,
                 entry_points: bool = True) -> None:
        self.strict = strict_mode() if strict is None else strict
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.generators: dict[str, type[Generator]] = {}
        self.datasets: dict[str, DatasetSpec] = {}
        self.metrics: dict[str, Metric] = {}
        self.feature_extractors: dict[str, FeatureExtractor] = {}
        self.reporters: dict[str, Reporter] = {}
        self._owner: dict[tuple[str, str], str] = {}
        if entry_points:
            for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                dist = getattr(ep, "dist", None)
                info = PluginInfo(ep.name, dist.version if dist else "?",
                                  f"{dist.name if dist else '?'} ({ep.value})")
                self._add(info, lambda ep=ep: ep.load())
        for name, plugin in plugins or []:
            self._add(PluginInfo(name, "-", f"registered in process ({type(plugin).__name__})"),
                      lambda plugin=plugin: plugin)

    # -- loading -----------------------------------------------------------------------

    def _fail(self, info: PluginInfo, what: str, exc: BaseException) -> None:
        info.error = f"{what}: {type(exc).__name__}: {exc}"
        print(f"genbench: plugin {info.name!r} is broken ({info.error})", file=sys.stderr)
        if self.strict:
            raise PluginLoadError(f"plugin {info.name!r}: {info.error}") from exc

    def _add(self, info: PluginInfo, load) -> None:
        self.plugins[info.name] = info
        try:
            plugin = load()
        except Exception as exc:
            return self._fail(info, "import failed", exc)
        try:
            self._check_hook_names(plugin)
            self.pm.register(plugin, name=info.name)
        except Exception as exc:
            return self._fail(info, "invalid hook implementation", exc)
        info.hooks = sorted(impl_name for impl_name in self._impl_names(plugin))
        try:
            self._collect(info, plugin)
        except Exception as exc:
            self.pm.unregister(plugin)
            self._drop(info.name)
            return self._fail(info, "hook raised", exc)

    @staticmethod
    def _impl_names(plugin: object) -> list[str]:
        names = []
        for attr in dir(plugin):
            fn = getattr(plugin, attr, None)
            if callable(fn) and hasattr(fn, f"{PROJECT}_impl"):
                names.append(attr)
        return names

    def _check_hook_names(self, plugin: object) -> None:
        # pluggy's check_pending(), but per plugin so the error names the culprit.
        for attr in self._impl_names(plugin):
            if not hasattr(hookspecs, attr):
                known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("genbench_")))
                raise pluggy.PluginValidationError(
                    plugin, f"hook {attr!r} matches no genbench hookspec (known: {known})"
                )

    def _collect(self, info: PluginInfo, plugin: object) -> None:
        for kind, hook in PROVIDER_HOOKS.items():
            fn = getattr(plugin, hook, None)
            if fn is None or not hasattr(fn, f"{PROJECT}_impl"):
                continue
            for item in fn() or []:
                self._register(info, kind, item)
                if kind == "feature_extractors":
                    # Each extractor's FD/KID/coverage columns are metrics of the same plugin.
                    for metric in feature_metrics.metrics_for(item):
                        self._register(info, "metrics", metric)

    def _register(self, info: PluginInfo, kind: str, item: Any) -> None:
        owner = self._owner.get((kind, item.name))
        if owner is not None:
            raise ValueError(f"{kind[:-1]} {item.name!r} is already provided by plugin {owner!r}")
        getattr(self, kind)[item.name] = item
        self._owner[(kind, item.name)] = info.name
        info.provides.setdefault(kind, []).append(item.name)

    def _drop(self, plugin_name: str) -> None:
        for (kind, name), owner in list(self._owner.items()):
            if owner == plugin_name:
                del getattr(self, kind)[name]
                del self._owner[(kind, name)]

    # -- lookup ------------------------------------------------------------------------

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.broken]

    def owner(self, kind: str, name: str) -> str:
        return self._owner.get((kind, name), "?")

    def _lookup(self, kind: str, name: str):
        registry = getattr(self, kind)
        if name not in registry:
            available = ", ".join(sorted(registry)) or "(none)"
            raise UsageError(f"unknown {kind[:-1]} {name!r}; available: {available}")
        return registry[name]

    def generator(self, name: str) -> type[Generator]:
        return self._lookup("generators", name)

    def dataset(self, name: str) -> DatasetSpec:
        return self._lookup("datasets", name)

    def reporter(self, name: str) -> Reporter:
        return self._lookup("reporters", name)

    def notify_started(self, run: dict[str, Any]) -> None:
        self._observe(self.pm.hook.genbench_run_started, run=run)

    def notify_finished(self, run: dict[str, Any], status: str, metrics: dict[str, float]) -> None:
        self._observe(self.pm.hook.genbench_run_finished, run=run, status=status, metrics=metrics)

    def _observe(self, hook, **kwargs) -> None:
        # An observer that raises must not lose the run it observes.
        for impl in hook.get_hookimpls():
            try:
                impl.function(**kwargs)
            except Exception as exc:
                print(f"genbench: plugin {impl.plugin_name!r} observer {hook.name} raised "
                      f"{type(exc).__name__}: {exc}", file=sys.stderr)
                if self.strict:
                    raise
