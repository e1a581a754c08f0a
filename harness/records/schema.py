"""The results store's schema revision: making a new store, telling which revision an
existing one is at, and upgrading it in place with Alembic (``records/migrations``).

Revisions 1 to 3 were SQLite files only, marked by ``PRAGMA user_version``; such a file
is stamped with its revision and upgraded like any other. An SQLite file keeps
``user_version`` equal to its revision, so that an older genbench, which knows only the
pragma, refuses a newer file instead of misreading it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, inspect, text

from harness.errors import UsageError
from harness.records import tables

APPLICATION_ID = 0x47454E42  # "GENB": marks an SQLite file as a genbench store
HEAD = "0004"
SCHEMA_VERSION = int(HEAD)
REVISIONS = ("0001", "0002", "0003", "0004")
MIGRATIONS = Path(__file__).with_name("migrations")
# Alembic's mark of the revision, under a name of genbench's own: another application's
# Alembic table in the same database is not taken for a genbench store.
VERSION_TABLE = "genbench_revision"


def _alembic_config(connection: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current(connection: Connection) -> str | None:
    """The store's revision (None: a store with no revision mark)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def create(connection: Connection) -> None:
    """Makes an empty database a genbench store at the current revision."""
    from alembic import command

    tables.metadata.create_all(connection)
    command.stamp(_alembic_config(connection), HEAD)
    _mark_sqlite(connection, HEAD)


def upgrade(connection: Connection) -> None:
    """Brings an older store to the current one, inside the caller's
    transaction, so a crash midway leaves it as it was."""
    from alembic import command

    command.upgrade(_alembic_config(connection), HEAD)
    _mark_sqlite(connection, HEAD)


def stamp_sqlite_version(connection: Connection, user_version: int) -> None:
    """An SQLite file of revisions 1 to 3 (before Alembic) marked with its revision."""
    from alembic import command

    command.stamp(_alembic_config(connection), f"{user_version:04d}")


def _mark_sqlite(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
        connection.exec_driver_sql(f"PRAGMA user_version={int(revision)}")


def check_revision(revision: str, where: str, remedy: str) -> None:
    """Refuses a revision this genbench does not know (a newer genbench wrote it)."""
    if revision not in REVISIONS:
        raise UsageError(f"{where} has genbench schema revision {revision!r}; this genbench knows revisions up to "
                         f"{HEAD}: upgrade genbench (or {remedy})")


def check_tables(connection: Connection, where: str, remedy: str) -> None:
    """Every table and column of the current schema is there (a store with genbench's
    mark but a table dropped would otherwise fail at the first query that needs it)."""
    found_tables = set(inspect(connection).get_table_names())
    for table, columns in tables.columns().items():
        if table not in found_tables:
            raise UsageError(f"{where}: the table {table!r} is missing, so it is not a complete genbench database "
                             f"(tables: {', '.join(tables.TABLE_NAMES)}); {remedy}")
        found = {c["name"] for c in inspect(connection).get_columns(table)}
        if missing := [c for c in columns if c not in found]:
            raise UsageError(f"{where}: table {table!r} has no column {', '.join(map(repr, missing))}, so it is not "
                             f"a complete genbench database; {remedy}")


def has_tables(connection: Connection) -> list[str]:
    """The tables a database holds (an empty one: none)."""
    return sorted(set(inspect(connection).get_table_names()) - {VERSION_TABLE})


def sqlite_user_version(connection: Connection) -> tuple[int, int]:
    """An SQLite file's (application_id, user_version)."""
    app_id = connection.execute(text("PRAGMA application_id")).scalar_one()
    return app_id, connection.execute(text("PRAGMA user_version")).scalar_one()
