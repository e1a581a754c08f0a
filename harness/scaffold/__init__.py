"""What ``genbench new-plugin`` writes: a working plugin package of one kind (generator,
dataset, feature extractor or leaderboard format), from the templates in ``templates/``.

Each template is a ``string.Template`` (``${name}`` placeholders). docs/plugin-authors.md
shows the dataset, extractor and reporter packages exactly as they are written here, and
tests/test_docs_plugin.py keeps the two the same.
"""

from __future__ import annotations

import re
import shlex
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from harness.errors import UsageError

KINDS = ("generator", "dataset", "extractor", "reporter")
# Each kind's registry in harness.plugins.Host, a line for pyproject's description and
# the README, and the command that shows the plugin at work (with {name} filled in).
REGISTRY = {"generator": "generators", "dataset": "datasets", "extractor": "feature_extractors",
            "reporter": "reporters"}
SUMMARY = {
    "generator": "a per-pixel Gaussian generator",
    "dataset": "a procedural dataset of stripe patterns",
    "extractor": "a feature extractor of fixed random convolutions (fd-{name} and kid-{name} columns)",
    "reporter": "a reStructuredText leaderboard format",
}
TRY = {
    "generator": "genbench run -g {name} -b smoke",
    "dataset": "genbench run -g gaussian -d {name} -b smoke",
    "extractor": "genbench run -g gaussian -b smoke --format md   # see its fd-{name} and kid-{name} columns",
    "reporter": "genbench run -g gaussian -b smoke --format {name}",
}
# A lowercase name that is also a valid distribution name (PEP 508: it ends with a letter
# or digit); its module is genbench_<name with - as _>. The length keeps the folder's
# and the leaderboard's names readable (and the folder's under any file system's limit).
NAME = re.compile(r"[a-z](?:[a-z0-9_-]{0,38}[a-z0-9])?")


@dataclass(frozen=True)
class Names:
    """The names a plugin called ``name`` goes by."""

    name: str  # the entry point's, and the generator's, dataset's, extractor's or format's

    @property
    def dist(self) -> str:
        """The distribution and its folder: ``genbench-<name>``."""
        return f"genbench-{self.name}"

    @property
    def module(self) -> str:
        """The module the entry point names: ``genbench_<name>``, ``-`` as ``_``."""
        return f"genbench_{self.name.replace('-', '_')}"

    @property
    def cls(self) -> str:
        """The class-name stem: ``my-stripes`` -> ``MyStripes``."""
        return "".join(part.capitalize() for part in re.split(r"[-_]+", self.name))


def names(name: str) -> Names:
    """The names of a new plugin; a UsageError for a name a package, a module or the
    command line could not use."""
    if not NAME.fullmatch(name):
        hint = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
        hint = f" (e.g. {hint!r})" if NAME.fullmatch(hint) else ""
        raise UsageError(f"plugin name {name!r}: use up to 40 lowercase letters, digits, '-' and '_', starting "
                         f"with a letter and ending with a letter or digit{hint}")
    return Names(name)


def files(kind: str, plugin: Names) -> dict[str, str]:
    """The package's files, by path within its folder, as text."""
    values = {"name": plugin.name, "dist": plugin.dist, "module": plugin.module, "cls": plugin.cls, "kind": kind,
              "summary": SUMMARY[kind].format(name=plugin.name), "run": TRY[kind].format(name=plugin.name)}
    templates = resources.files(__name__) / "templates"

    def fill(template: str) -> str:
        return string.Template((templates / template).read_text(encoding="utf-8")).substitute(values)

    return {
        "pyproject.toml": fill("pyproject.toml.tmpl"),
        f"{plugin.module}.py": fill(f"{kind}.py.tmpl"),
        f"tests/test_{plugin.module.removeprefix('genbench_')}.py": fill(f"{kind}_test.py.tmpl"),
        "README.md": fill("README.md.tmpl"),
    }


def next_commands(kind: str, plugin: Names, folder: Path) -> list[str]:
    """What to run once the package is written in ``folder``."""
    text = str(folder)
    # pip takes a bare "genbench-x" for a project to download, "./genbench-x" for a folder.
    where = shlex.quote(text if folder.is_absolute() or text.startswith(".") else f"./{text}")
    return [f"pip install -e {where}", f"genbench check-plugin {plugin.name}", f"pytest {where}/tests",
            TRY[kind].format(name=plugin.name)]
