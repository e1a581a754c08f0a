"""Copying a results history from one store to another (SQLite to PostgreSQL or back),
row for row, so that nothing is lost: every column of every table, as it was written.

The copy is one transaction on the destination: it lands whole or not at all. A row the
destination already holds with the same content is skipped, so copying again, or
merging several machines' files into one server, is safe; a row it holds with other
content is a conflict, and nothing is written, unless the copy updates: then the
source's row replaces it (a run that was still running at an earlier copy, finished
since)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, select, tuple_

from harness.errors import UsageError
from harness.records.store import ResultsStore
from harness.records.tables import TABLES
from harness.records.upsert import upsert

BATCH = 500  # rows read and written at a time: a large history is never held whole


@dataclass
class CopyReport:
    """How many rows of each table were copied, how many the destination already held,
    and how many it held with other values and were updated to the source's."""

    copied: dict[str, int] = field(default_factory=dict)
    already_there: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)


def copy_store(source: ResultsStore, destination: ResultsStore, update: bool = False) -> CopyReport:
    """Every row of ``source`` into ``destination``, parents before children. A row the
    destination holds with other values is a conflict (a UsageError; nothing is
    written), or with ``update``, replaced by the source's."""
    if source.location.for_workers == destination.location.for_workers:
        raise UsageError(f"the source and the destination are the same store ({source.where})")
    report = CopyReport()
    # One snapshot of the source, so a suite run recorded meanwhile is copied whole or not at all.
    snapshot = {} if source.location.is_sqlite else {"isolation_level": "REPEATABLE READ"}
    with source.engine.connect().execution_options(**snapshot) as reading, destination.transaction() as writing:
        for table in TABLES:
            copied = there = updated = 0
            for batch in _batches(reading, table):
                fresh, changed = _compare(writing, table, batch, destination.where, update)
                if fresh:
                    writing.execute(table.insert(), fresh)
                for row in changed:
                    upsert(writing, table, row)
                copied, updated = copied + len(fresh), updated + len(changed)
                there += len(batch) - len(fresh) - len(changed)
            report.copied[table.name], report.already_there[table.name] = copied, there
            report.updated[table.name] = updated
    return report


def _batches(connection: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    keys = list(table.primary_key.columns)
    result = connection.execution_options(yield_per=BATCH).execute(select(table).order_by(*keys)).mappings()
    for partition in result.partitions():
        yield [dict(row) for row in partition]


def _compare(connection: Connection, table: Table, batch: list[dict[str, Any]], where: str,
             update: bool) -> tuple[list[dict], list[dict]]:
    """The rows of ``batch`` the destination does not hold, and those it holds with other
    values (a conflict, unless ``update``)."""
    keys = [c.name for c in table.primary_key.columns]
    key_of = lambda row: tuple(row[k] for k in keys)  # noqa: E731
    wanted = [key_of(row) for row in batch]
    held: dict[tuple, Mapping[str, Any]] = {
        key_of(row): row for row in connection.execute(
            select(table).where(tuple_(*table.primary_key.columns).in_(wanted))).mappings()}
    changed = [row for row in batch if (there := held.get(key_of(row))) is not None and dict(there) != row]
    if changed and not update:
        row, there = changed[0], held[key_of(changed[0])]
        differ = sorted(c for c in row if row[c] != there[c])
        raise UsageError(f"{where} already holds {table.name} row {dict(zip(keys, key_of(row), strict=True))} "
                         f"with other values (columns {', '.join(differ)}); nothing was copied (--update makes "
                         "the source's rows replace them)")
    return [row for row in batch if key_of(row) not in held], changed
