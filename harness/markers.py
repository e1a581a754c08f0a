"""The pluggy markers of the ``genbench`` project."""

import pluggy

PROJECT = "genbench"
#: Marks a function of :mod:`harness.hookspecs` as a hook specification (the host's
#: side; a plugin does not need it).
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin's function as the implementation of the hook of the same name, e.g.
#: ``@hookimpl`` above ``def genbench_generators(): ...``. Takes pluggy's options
#: (``tryfirst=True``, ``specname="genbench_metrics"``, ...).
hookimpl = pluggy.HookimplMarker(PROJECT)
