"""The plugin host: discovery through the `genbench` entry-point group only, broken
plugins reported by name and isolated, strict mode, and `genbench plugins`."""

from __future__ import annotations

import json

import pytest

from harness import hookimpl
from harness.errors import UsageError
from harness.plugins import Host, PluginLoadError
from tests.helpers import TinyGenerator, TinyPlugin, fake_distribution, genbench

BROKEN_IMPORT = "import nonexistent_module_for_genbench_tests\n"
WRONG_HOOK = """
from harness import hookimpl

@hookimpl
def genbench_generatorz():
    return []
"""
RAISING_HOOK = """
from harness import hookimpl

@hookimpl
def genbench_generators():
    raise RuntimeError("boom in hook")
"""
WRONG_TYPE = """
from harness import hookimpl

@hookimpl
def genbench_generators():
    return "dcgan"
"""


def test_builtins_and_clock_are_discovered_through_entry_points():
    host = Host()
    assert "builtins" in host.plugins and "clock" in host.plugins
    assert host.owner("generators", "clock") == "clock"
    assert host.owner("datasets", "clocks") == "builtins"
    assert "genbench-clock" in host.plugins["clock"].source


@pytest.mark.parametrize(
    ("source", "expected"),
    [(BROKEN_IMPORT, "import failed: ModuleNotFoundError"),
     (WRONG_HOOK, "matches no genbench hookspec"),
     (RAISING_HOOK, "hook genbench_generators raised: RuntimeError: boom in hook"),
     (WRONG_TYPE, "hook genbench_generators of plugin 'broken' returned 'dcgan' (a str), expected a list")],
)
def test_broken_plugin_is_reported_and_the_rest_still_run(tmp_path, source, expected):
    path = fake_distribution(tmp_path / "site", "genbench-broken", "genbench_broken", source, entry="broken")
    result = genbench("plugins", "--json", pythonpath=path)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["broken"]["status"] == "broken"
    assert expected in plugins["broken"]["error"]
    assert plugins["clock"]["status"] == "ok" and plugins["clock"]["generators"] == ["clock"]
    text = genbench("plugins", pythonpath=path)
    assert "broken 0.1  [broken]" in text.stdout and f"    error: {plugins['broken']['error']}" in text.stdout
    assert result.stderr == text.stderr == "", "the listing says it: once"


def test_strict_mode_makes_a_broken_plugin_fatal(tmp_path):
    path = fake_distribution(tmp_path / "site", "genbench-broken", "genbench_broken", BROKEN_IMPORT, entry="broken")
    result = genbench("plugins", pythonpath=path, env={"GENBENCH_PLUGINS_STRICT": "1"})
    assert result.returncode == 2
    assert "plugin 'broken'" in result.stderr and "ModuleNotFoundError" in result.stderr


def test_strict_mode_in_process():
    class Wrong:
        @hookimpl
        def genbench_nothing(self):
            return []

    with pytest.raises(PluginLoadError, match="matches no genbench hookspec"):
        Host(plugins=[("wrong", Wrong())], entry_points=False, strict=True)


def test_duplicate_generator_name_is_a_clash_not_a_broken_plugin():
    # More in test_plugin_clashes.py.
    host = Host(plugins=[("one", TinyPlugin()), ("two", TinyPlugin())], entry_points=False, strict=True)
    assert "tiny" not in host.generators
    assert not host.plugins["one"].broken and not host.plugins["two"].broken
    assert host.generator("two:tiny") is TinyGenerator
    with pytest.raises(UsageError, match=r"generator 'tiny' is provided by more than one plugin \('one' and 'two'\)"):
        host.generator("tiny")


def test_plugins_lists_hooks_and_provisions():
    result = genbench("plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["builtins"]["hooks"] == ["genbench_datasets", "genbench_executors", "genbench_feature_extractors",
                                            "genbench_metrics", "genbench_reporters"]
    assert plugins["builtins"]["executors"] == ["local", "ray"]
    assert plugins["builtins"]["datasets"] == ["clocks", "digits", "mnist", "fashion-mnist", "cifar10"]
    assert plugins["builtins"]["feature_extractors"] == ["inception", "clocknet", "digitnet"]
    # Each extractor's columns are metrics of the plugin that provides the extractor.
    assert plugins["builtins"]["metrics"][:5] == ["ssim", "fid", "fid-inf", "kid-inception", "fd-clocknet"]
    assert {"fd-clocknet-inf", "kid-clocknet", "modes-clocknet", "mode-kl-clocknet", "fd-digitnet",
            "fd-digitnet-inf"} <= set(plugins["builtins"]["metrics"])
    assert set(plugins["builtins"]["reporters"]) == {"md", "csv", "json", "term"}
    assert all(p["conflicts"] == [] for p in plugins.values())
    assert plugins["clock"]["version"] == "0.1.0"
    for name, generators in (("dcgan", ["dcgan"]), ("upgan", ["upgan"]), ("betavae", ["betavae"]),
                             ("vqvae", ["vqvae"]), ("ddpm", ["ddpm"]), ("ldm", ["ldm"]),
                             ("baselines", ["gaussian", "noise", "train-copy"])):
        assert plugins[name]["status"] == "ok" and plugins[name]["generators"] == generators


def test_observer_hooks_are_called_and_cannot_lose_a_run():
    seen = []

    class Observer:
        @hookimpl
        def genbench_run_started(self, run):
            seen.append(("started", run["id"]))

        @hookimpl
        def genbench_run_finished(self, run, status, metrics):
            seen.append(("finished", status))
            raise RuntimeError("observer bug")

    host = Host(plugins=[("obs", Observer())], entry_points=False, strict=False)
    host.notify_started({"id": "r1"})
    host.notify_finished({"id": "r1"}, "ok", {})
    assert seen == [("started", "r1"), ("finished", "ok")]
