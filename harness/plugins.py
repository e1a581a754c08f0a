"""The plugin host: loads plugins from the ``genbench`` entry-point group, isolates the
broken ones, and collects what the working ones provide.

This is pluggy's ``load_setuptools_entrypoints("genbench")`` with one change: each
entry point is loaded, registered and validated on its own, so that one broken plugin
is reported by name and the others still run. ``GENBENCH_PLUGINS_STRICT=1`` re-raises.
Plugins named by ``-p no:NAME`` or ``$GENBENCH_DISABLE_PLUGINS`` are listed but not
loaded, and a plugin whose ``GENBENCH_API`` this genbench does not provide is broken.
A name two plugins provide is a clash, not a broken plugin: each keeps all it provides,
neither gets the bare name (a UsageError naming both), and ``plugin:name`` picks one.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
import traceback
from collections.abc import Iterable
from typing import Any

import pluggy

from harness import api_version, disabled_plugins, hookspecs
from harness.api import DatasetSpec, ExecutorSpec, FeatureExtractor, Generator, Metric, Reporter, RunInfo
from harness.errors import UsageError
from harness.hook_results import KIND_WORDS, PROVIDER_HOOKS, HookResultError, checked, where
from harness.markers import PROJECT
from harness.metrics import feature_metrics
from harness.plugin_info import PluginInfo

ENTRY_POINT_GROUP = PROJECT
class AmbiguousName(UsageError):
    """A name two plugins provide, used without ``plugin:`` to say which."""


class PluginLoadError(RuntimeError):
    """A plugin failed to load or validate (raised only in strict mode)."""


def strict_mode() -> bool:
    return os.environ.get("GENBENCH_PLUGINS_STRICT", "").strip().lower() in ("1", "true", "yes")


class Host:
    """The plugin manager plus registries of generators, datasets, metrics, reporters and
    executors: each maps a name exactly one plugin provides to what it provides (the
    evaluation measures every metric there). A clashing name is in none; :meth:`generator`
    and the other accessors reach it as ``plugin:name``."""

    def __init__(self, plugins: list[tuple[str, object]] | None = None, strict: bool | None = None,
                 entry_points: bool = True, disabled: Iterable[str] | None = None, quiet: bool = False) -> None:
        """``quiet``: say nothing of broken plugins and clashes (a worker process, whose
        parent has said it once already)."""
        self.strict = strict_mode() if strict is None else strict
        self.quiet = quiet
        self.disabled = disabled_plugins.from_env() if disabled is None else set(disabled)
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.generators: dict[str, type[Generator]] = {}
        self.datasets: dict[str, DatasetSpec] = {}
        self.metrics: dict[str, Metric] = {}
        self.feature_extractors: dict[str, FeatureExtractor] = {}
        self.reporters: dict[str, Reporter] = {}
        self.executors: dict[str, ExecutorSpec] = {}
        # (kind, name) -> {plugin: item}, in load order: every provision, clashing or not.
        self._provided: dict[tuple[str, str], dict[str, Any]] = {}
        eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP) if entry_points else [],
                     key=lambda e: (e.name, e.dist.name if getattr(e, "dist", None) else ""))
        for ep in eps:
            dist = getattr(ep, "dist", None)
            dist_name = dist.name if dist else "?"
            # Two distributions' entry points of one name: neither takes the name.
            name = f"{ep.name}@{dist_name}" if [e.name for e in eps].count(ep.name) > 1 else ep.name
            self._add(PluginInfo(name, dist.version if dist else "?", f"{dist_name} ({ep.value})",
                                 disabled=bool({name, ep.name} & self.disabled)), ep.load)
        for name, plugin in plugins or []:
            if name in self.plugins:
                raise ValueError(f"plugin name {name!r} is already taken ({self.plugins[name].source})")
            self._add(PluginInfo(name, "-", f"registered in process ({type(plugin).__name__})",
                                 disabled=name in self.disabled), lambda plugin=plugin: plugin)
        for (kind, name), providers in self._provided.items():
            if len(providers) > 1 and not quiet:
                measured = " (neither is measured)" if kind == "metrics" else ""
                print(f"genbench: {self._ambiguous(kind, name)}{measured}", file=sys.stderr)

    def _fail(self, info: PluginInfo, what: str, exc: BaseException | None = None) -> None:
        """Marks the plugin broken. The error is printed once: here, or in strict mode by
        the command line as it exits on the raised PluginLoadError."""
        if exc is None:
            info.error = what
        elif isinstance(exc, HookResultError):
            info.error = str(exc)
        else:
            info.error = f"{what}: {type(exc).__name__}: {exc}{where(exc)}"
            info.traceback = "".join(traceback.format_exception(exc))
        if self.strict:
            raise PluginLoadError(f"plugin {info.name!r}: {info.error}") from exc
        if not self.quiet:
            hint = "; details: genbench plugins --traceback" if info.traceback else ""
            print(f"genbench: plugin {info.name!r} is broken ({info.error}{hint})", file=sys.stderr)

    def _add(self, info: PluginInfo, load) -> None:
        self.plugins[info.name] = info
        if info.disabled:  # listed, never imported
            return
        try:
            plugin = load()
        except Exception as exc:
            return self._fail(info, "import failed", exc)
        too_new = api_version.mismatch(plugin)
        if too_new:
            return self._fail(info, f"plugin API: {too_new}")
        try:
            self._check_hook_names(plugin)
            self.pm.register(plugin, name=info.name)
        except Exception as exc:
            return self._fail(info, "invalid hook implementation", exc)
        info.hooks = sorted(self._impl_names(plugin))
        # All it provides is checked first, then registered: a broken plugin leaves nothing.
        staged: list[tuple[str, Any]] = []
        for kind, hook in PROVIDER_HOOKS.items():
            fn = getattr(plugin, hook, None)
            if fn is None or not hasattr(fn, f"{PROJECT}_impl"):
                continue
            try:
                result = fn()
            except Exception as exc:
                self.pm.unregister(plugin)
                return self._fail(info, f"hook {hook} raised", exc)
            try:
                items = checked(hook, kind, result, info.name)
                staged += [(kind, item) for item in items]
                if kind == "feature_extractors":
                    # Each extractor's FD/KID/coverage columns are metrics of the same plugin.
                    staged += [("metrics", m) for item in items for m in feature_metrics.metrics_for(item)]
                twice = [f"{KIND_WORDS[k]} {i.name!r}" for n, (k, i) in enumerate(staged)
                         if (k, i.name) in {(k2, i2.name) for k2, i2 in staged[:n]}]
                if twice:
                    raise HookResultError(f"hook {hook} of plugin {info.name!r} provides {twice[0]} twice")
            except Exception as exc:
                self.pm.unregister(plugin)
                return self._fail(info, "invalid hook result", exc)
        for kind, item in staged:
            self._register(info, kind, item)

    @staticmethod
    def _impl_names(plugin: object) -> list[str]:
        return [a for a in dir(plugin) if callable(fn := getattr(plugin, a, None)) and hasattr(fn, f"{PROJECT}_impl")]

    def _check_hook_names(self, plugin: object) -> None:
        # pluggy's check_pending(), but per plugin so the error names the culprit.
        for attr in self._impl_names(plugin):
            if not hasattr(hookspecs, attr):
                known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("genbench_")))
                raise pluggy.PluginValidationError(plugin, f"hook {attr!r} matches no genbench hookspec "
                                                           f"(known: {known})")

    def _register(self, info: PluginInfo, kind: str, item: Any) -> None:
        key = (kind, item.name)
        providers = self._provided.setdefault(key, {})
        providers[info.name] = item
        info.provides.setdefault(kind, []).append(item.name)
        registry = getattr(self, kind)
        if len(providers) == 1:
            registry[item.name] = item
            return
        # A clash: the bare name goes to neither; every provider lists the others.
        registry.pop(item.name, None)
        for plugin in providers:
            self.plugins[plugin].conflicts[key] = [p for p in providers if p != plugin]

    # -- lookup ------------------------------------------------------------------------

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.broken]

    def owner(self, kind: str, name: str) -> str:
        """The plugin that provides ``name`` ("?" when none does, or more than one)."""
        providers = self.providers(kind, name)
        return providers[0] if len(providers) == 1 else "?"

    def providers(self, kind: str, name: str) -> list[str]:
        """Every plugin that provides ``name``, in load order (more than one: a clash)."""
        return list(self._provided.get((kind, name), {}))

    def why_unmeasured(self, metric: str) -> str:
        """Why no plugin measures ``metric``, in parentheses: two provide it, or a plugin
        that was disabled or is broken might; empty when nothing says."""
        providers = self.providers("metrics", metric)
        if len(providers) > 1:
            return f" (plugins {' and '.join(map(repr, providers))} both provide it, so neither measures it)"
        off = [p.name for p in self.plugins.values() if p.disabled or p.broken]
        return f" (disabled or broken plugins: {', '.join(off)})" if off else ""

    def split_name(self, name: str) -> tuple[str | None, str]:
        """``plugin:name`` as (plugin, name) when it starts with a plugin's name, else (None, name)."""
        plugin = max((p for p in self.plugins if name.startswith(f"{p}:")), key=len, default=None)
        return (None, name) if plugin is None else (plugin, name[len(plugin) + 1:])

    def _ambiguous(self, kind: str, name: str) -> str:
        providers = self.providers(kind, name)
        listed = (" and " if len(providers) == 2 else ", ").join(map(repr, providers))
        return (f"{KIND_WORDS[kind]} {name!r} is provided by more than one plugin ({listed}), so neither is "
                f"used by that name; pick one with plugin:name: {' or '.join(f'{p}:{name}' for p in providers)}")

    def _lookup(self, kind: str, name: str):
        registry = getattr(self, kind)
        if name in registry:
            return registry[name]
        word = KIND_WORDS[kind]
        if len(self.providers(kind, name)) > 1:
            raise AmbiguousName(self._ambiguous(kind, name))
        plugin, plain = self.split_name(name)
        if plugin is not None:
            item = self._provided.get((kind, plain), {}).get(plugin)
            if item is not None:
                return item
            info = self.plugins[plugin]
            own = ", ".join(info.provides.get(kind, [])) or "none"
            raise UsageError(f"unknown {word} {name!r}: plugin {plugin!r} " + (
                f"is broken ({info.error})" if info.broken else
                f"provides no {word} {plain!r} (its {kind.replace('_', ' ')}: {own})"))
        if ":" in name:
            raise UsageError(f"unknown {word} {name!r}: no plugin {name.split(':', 1)[0]!r}; "
                             f"plugins: {', '.join(sorted(self.plugins)) or '(none)'}")
        clashing = [f"{p}:{n}" for (k, n), providers in self._provided.items() if k == kind and len(providers) > 1
                    for p in providers]
        available = ", ".join(sorted(registry) + sorted(clashing)) or "(none)"
        raise UsageError(f"unknown {word} {name!r}; available: {available}")

    def generator(self, name: str, class_path: str | None = None) -> type[Generator]:
        """The generator class called ``name`` or ``plugin:name``; a UsageError when it is
        unknown, or when two plugins provide it and ``name`` does not say which. A run's
        options record the plain name and ``class_path`` (:func:`class_path_of`), which
        says which when reading a run planned with ``plugin:name`` back."""
        matches = {cls for cls in self._provided.get(("generators", name), {}).values()
                   if class_path and class_path_of(cls) == class_path}
        return matches.pop() if len(matches) == 1 else self._lookup("generators", name)

    def dataset(self, name: str) -> DatasetSpec:
        return self._lookup("datasets", name)

    def metric(self, name: str) -> Metric:
        return self._lookup("metrics", name)

    def feature_extractor(self, name: str) -> FeatureExtractor:
        return self._lookup("feature_extractors", name)

    def reporter(self, name: str) -> Reporter:
        return self._lookup("reporters", name)

    def executor(self, name: str) -> ExecutorSpec:
        return self._lookup("executors", name)

    def notify_started(self, run: RunInfo) -> None:
        self._observe(self.pm.hook.genbench_run_started, run=run)

    def notify_finished(self, run: RunInfo, status: str, metrics: dict[str, float | None]) -> None:
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


def class_path_of(cls: type) -> str:
    """Where a class is defined, ``module.QualName``: a run's options' ``generator_class``."""
    return f"{cls.__module__}.{cls.__qualname__}"
