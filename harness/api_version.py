"""The plugin API's version, and the check of the version a plugin says it needs.

``API_VERSION`` is ``MAJOR.MINOR``. MINOR grows when the API gains something, so a
plugin written for 1.0 works with 1.1; MAJOR grows when something a plugin may use
changes or goes. A plugin declares the version it was written for with a module (or
object) attribute ``GENBENCH_API = "1.1"``; a plugin that declares none is assumed to
work with any version, as before the attribute existed.

- 1.0: the first release's hooks and objects.
- 1.1: ``Generator.requires``, ``DatasetSpec.rank_by``, ``FeatureExtractor.feature_dim``,
  ``RunInfo``, and the conformance helpers for datasets, extractors and reporters.
- 1.2: ``Column.interval_key`` and ``Column.spread_key``, the leaderboard rows' bound keys
  (``images``, ``images_seen``, ``images_budget``, ``bound``, ``capped``), the metric kind
  ``fd-inf``, and ``Budget.kind``.
- 1.3: executors: the hook ``genbench_executors``; ``ExecutorSpec``, ``ExecutorSettings``,
  ``Executor``, ``ExecutorContext``, ``Job``, ``Entry``, ``RunOutcome``,
  ``execute_in_process`` and ``execute_in_worker`` in ``harness.api``; a suite entry's
  ``resources``, recorded in the run's options.
"""

from __future__ import annotations

import inspect
import re

#: The plugin API this genbench provides, ``MAJOR.MINOR``.
API_VERSION = "1.3"
#: The attribute a plugin module (or object) sets to the API version it is written for.
ATTRIBUTE = "GENBENCH_API"

_VERSION = re.compile(r"(\d+)\.(\d+)")


def _parse(text: str) -> tuple[int, int] | None:
    match = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
    return (int(match[1]), int(match[2])) if match else None


def mismatch(plugin: object) -> str | None:
    """Why ``plugin`` cannot run against this API (its ``GENBENCH_API`` asks for another
    major version, or a later minor one, or is not ``MAJOR.MINOR``), or None."""
    wanted = getattr(plugin, ATTRIBUTE, None)
    if wanted is None:  # an entry point naming an object (pkg.mod:obj): its module's
        wanted = getattr(inspect.getmodule(plugin), ATTRIBUTE, None)
    if wanted is None:
        return None
    needed, have = _parse(wanted), _parse(API_VERSION)
    if needed is None:
        return (f"{ATTRIBUTE} must be 'MAJOR.MINOR' such as {API_VERSION!r} (no patch part), got {wanted!r}")
    if needed[0] != have[0] or needed[1] > have[1]:
        return (f"it is written for genbench plugin API {wanted}, and this genbench provides API {API_VERSION} "
                f"(the plugin needs API {needed[0]}.{needed[1]} or a later {needed[0]}.x): "
                "install a genbench or a version of the plugin that match")
    return None
