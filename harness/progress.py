"""Progress bars on stderr, off when stderr is not a terminal (data goes to stdout)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def bar(total: int | None, desc: str, initial: int = 0, enabled: bool | None = None) -> tqdm:
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=desc, unit="img", unit_scale=True,
                file=sys.stderr, disable=not enabled, dynamic_ncols=True, leave=False)
