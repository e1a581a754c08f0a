"""What a reference to recorded runs may be (``compare A B``, ``report REF``, ``runs
REF``): a run id, a unique prefix of one, a suite-run id or a label. A label is any text
and matches exactly; only a run-id prefix is matched as a prefix, and it must look like
the start of an id, so that neither an empty reference nor a LIKE wildcard (``%``,
``_``) ever names every run."""

from __future__ import annotations

import re

REFERENCE = "a reference is a run id (or a unique prefix of one), a suite-run id or a label"


def like_prefix(text: str) -> str:
    """A LIKE pattern (with ``ESCAPE '\\'``) matching ``text`` literally as a prefix."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def could_be_run_id(text: str) -> bool:
    """Whether ``text`` could begin a run id: genbench's ids are letters, digits and '-'."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", text) is not None
