"""Numbers as genbench prints them: thousands separated, and as many digits as a
leaderboard cell needs to tell rows apart."""

from __future__ import annotations

import math
from typing import Any


def format_value(value: Any) -> str:
    """``value`` as a cell shows it: ``n/a`` for None, integers with separators, floats
    to about four significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) < 0.01:
            return f"{value:.2e}"
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
