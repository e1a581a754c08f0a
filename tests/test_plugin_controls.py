"""What a user controls about plugins and what a broken one tells them: ``-p no:NAME``
and ``$GENBENCH_DISABLE_PLUGINS``, the plugin API version, a failure's file and line
with ``genbench plugins --traceback``, and each error printed once."""

from __future__ import annotations

import json
import os
import sys
import types

import pytest

from harness import API_VERSION, cli, hookimpl
from harness.plugins import Host, PluginLoadError
from tests.helpers import TinyGenerator, TinyPlugin, fake_distribution, genbench

IMPORT_FAILS = """
CONFIG = {}
VALUE = CONFIG["missing-key"]
"""


@pytest.fixture
def broken_site(tmp_path):
    return fake_distribution(tmp_path / "site", "genbench-bad", "genbench_bad", IMPORT_FAILS, entry="bad")


@pytest.fixture
def installed_broken(broken_site, monkeypatch):
    """The broken plugin installed for this process (its entry point on sys.path)."""
    monkeypatch.syspath_prepend(str(broken_site))
    monkeypatch.delenv("GENBENCH_DISABLE_PLUGINS", raising=False)
    return broken_site


def listed(out: str) -> dict[str, dict]:
    return {p["name"]: p for p in json.loads(out)}


def test_an_import_failure_names_its_file_and_line(installed_broken, run_cli):
    code, out, err = run_cli("plugins", "--json")
    bad = listed(out)["bad"]
    assert bad["error"] == f"import failed: KeyError: 'missing-key' ({installed_broken / 'genbench_bad.py'}:3)"
    assert "traceback" not in bad
    assert err == "", "genbench plugins lists the error: it is not printed again"
    # Any other command says it on stderr, pointing at the traceback.
    code, _, err = run_cli("describe", "clocknet")
    assert code == 0
    assert "plugin 'bad' is broken (import failed: KeyError: 'missing-key' (" in err
    assert "details: genbench plugins --traceback" in err


def test_traceback_shows_the_whole_failure(installed_broken, run_cli):
    code, out, _ = run_cli("plugins", "--traceback")
    assert code == 0
    assert "Traceback (most recent call last):" in out and 'VALUE = CONFIG["missing-key"]' in out
    assert "KeyError: 'missing-key'" in listed(run_cli("plugins", "-v", "--json")[1])["bad"]["traceback"]


def test_strict_mode_prints_the_error_once(installed_broken, run_cli, monkeypatch):
    monkeypatch.setenv("GENBENCH_PLUGINS_STRICT", "1")
    code, _, err = run_cli("plugins")
    assert code == 2
    assert err.count("missing-key") == 1, err


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_a_disabled_plugin_is_not_even_imported(installed_broken, run_cli, monkeypatch, where):
    args = ["plugins", "--json"]
    if where == "before":
        args = ["-p", "no:bad", *args]
    elif where == "after":
        args += ["-p", "no:bad"]
    else:
        monkeypatch.setenv("GENBENCH_DISABLE_PLUGINS", "bad, other")
    code, out, err = run_cli(*args)
    assert code == 0 and "broken" not in err, err
    bad = listed(out)["bad"]
    assert bad["status"] == "disabled" and bad["error"] is None


def test_a_disabled_plugin_provides_nothing(run_cli, tmp_path):
    code, _, err = run_cli("run", "-p", "no:clock", "-g", "clock", "-b", "smoke", "--out", str(tmp_path))
    assert code == 2
    assert "unknown generator 'clock'" in err and "clock, " not in err.split("available:")[1]
    assert not (tmp_path / "genbench.sqlite").exists()


def test_disable_option_errors(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["plugins", "-p", "clock"])
    assert exit_.value.code == 2
    assert "-p takes no:NAME, to disable the one plugin NAME" in capsys.readouterr().err
    assert cli.main(["-p", "no:nosuchplugin", "plugins"]) == 0
    assert ("genbench: warning: -p no:nosuchplugin: no installed plugin is called 'nosuchplugin'"
            in capsys.readouterr().err)


def test_in_process_disabling():
    host = Host(plugins=[("tiny", TinyPlugin())], entry_points=False, disabled={"tiny"})
    assert host.plugins["tiny"].status == "disabled" and "tiny" not in host.generators


# -- the plugin API version ----------------------------------------------------------------


def versioned(version: str) -> object:
    class Plugin:
        GENBENCH_API = version

        @hookimpl
        def genbench_generators(self):
            return [TinyGenerator]

    return Plugin()


def test_api_version_is_major_minor():
    major, minor = API_VERSION.split(".")
    assert major.isdigit() and minor.isdigit()


@pytest.mark.parametrize("version", [API_VERSION, f"{API_VERSION.split('.')[0]}.0"])
def test_a_plugin_for_this_api_loads(version):
    host = Host(plugins=[("p", versioned(version))], entry_points=False, strict=True)
    assert host.generators["tiny"] is TinyGenerator


@pytest.mark.parametrize(("version", "message"), [
    ("99.0", "it is written for genbench plugin API 99.0, and this genbench provides API "),
    (f"{API_VERSION.split('.')[0]}.999", "written for genbench plugin API"),
    ("one", "GENBENCH_API must be 'MAJOR.MINOR'"),
])
def test_a_plugin_for_another_api_is_broken(capsys, version, message):
    host = Host(plugins=[("p", versioned(version))], entry_points=False, strict=False)
    info = host.plugins["p"]
    assert info.broken and info.error.startswith("plugin API: ") and message in info.error
    assert "tiny" not in host.generators
    assert capsys.readouterr().err.count(message) == 1
    with pytest.raises(PluginLoadError, match="plugin API"):
        Host(plugins=[("p", versioned(version))], entry_points=False, strict=True)


def test_a_run_reports_a_broken_plugin_once(broken_site, tmp_path):
    # Each entry's worker process loads the plugins again; only the command says so.
    result = genbench("run", "-g", "gaussian", "-g", "noise", "-b", "smoke", "--out", tmp_path, "--no-report",
                      pythonpath=broken_site)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("plugin 'bad' is broken") == 1, result.stderr


def test_disabling_lasts_one_command(run_cli, monkeypatch):
    monkeypatch.delenv("GENBENCH_DISABLE_PLUGINS", raising=False)
    code, out, _ = run_cli("plugins", "--json", "-p", "no:clock")
    assert code == 0 and {p["name"]: p for p in json.loads(out)}["clock"]["status"] == "disabled"
    assert "GENBENCH_DISABLE_PLUGINS" not in os.environ
    code, out, _ = run_cli("plugins", "--json")
    assert {p["name"]: p for p in json.loads(out)}["clock"]["status"] == "ok"


def test_one_name_per_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["plugins", "-p", "no:clock,dcgan"])
    assert exit_.value.code == 2
    assert "the one plugin NAME as `genbench plugins` lists it (repeat -p for more)" in capsys.readouterr().err


def test_check_plugin_of_a_disabled_plugin_says_so(run_cli):
    code, _, err = run_cli("check-plugin", "clock", "-p", "no:clock")
    assert code == 2 and "plugin 'clock' is disabled (-p no:clock or $GENBENCH_DISABLE_PLUGINS)" in err


def test_a_module_declares_the_api_of_an_object_plugin(monkeypatch):
    module = types.ModuleType("genbench_objplugin")
    module.GENBENCH_API = "99.0"

    class Plugin:
        @hookimpl
        def genbench_generators(self):
            return [TinyGenerator]

    Plugin.__module__ = module.__name__
    monkeypatch.setitem(sys.modules, module.__name__, module)
    host = Host(plugins=[("obj", Plugin())], entry_points=False, strict=False)
    assert "written for genbench plugin API 99.0" in host.plugins["obj"].error


def test_a_patch_part_is_named():
    host = Host(plugins=[("p", versioned("1.1.0"))], entry_points=False, strict=False)
    assert "(no patch part), got '1.1.0'" in host.plugins["p"].error
