"""An idempotent write: a row inserted, or, where one with its key exists, updated to
these values. Both backends spell it ``INSERT ... ON CONFLICT DO UPDATE``, each through
its own SQLAlchemy dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def upsert(connection: Connection, table: Table, row: dict[str, Any]) -> None:
    """Writes ``row`` into ``table``, keyed by the table's primary key."""
    keys = [c.name for c in table.primary_key.columns]
    statement = _INSERTS[connection.dialect.name](table).values(**row)
    connection.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={k: statement.excluded[k] for k in row if k not in keys}))
