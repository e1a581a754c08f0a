"""One plugin as ``genbench plugins`` lists it: where it comes from, what it provides,
and whether it is broken or disabled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PluginInfo:
    """One plugin as ``genbench plugins`` lists it."""

    name: str
    version: str
    source: str
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    #: The failure's full traceback, for ``genbench plugins --traceback``.
    traceback: str | None = None
    #: Turned off by ``-p no:NAME`` or ``$GENBENCH_DISABLE_PLUGINS``: listed, not loaded.
    disabled: bool = False
    # (kind, name) -> the other plugins that provide the same name.
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def broken(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> str:
        """``ok``, ``broken`` or ``disabled``."""
        return "disabled" if self.disabled else "broken" if self.broken else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source, "hooks": self.hooks,
                "status": self.status, "error": self.error, "traceback": self.traceback, **self.provides,
                "conflicts": [{"kind": kind, "name": name, "also_provided_by": others}
                              for (kind, name), others in self.conflicts.items()]}
