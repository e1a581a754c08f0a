"""The pluggy markers of the ``genbench`` project."""

import pluggy

PROJECT = "genbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
