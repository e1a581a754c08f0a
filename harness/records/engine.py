"""Opening a results store's database through SQLAlchemy: an SQLite file (checked
before anything is written to it, then in WAL mode) or a PostgreSQL server; in either
case the schema is brought to the current revision, once, under a lock, so that many
processes opening one store at once do not race to create or upgrade it."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from harness.errors import UsageError
from harness.records import dbfile, schema
from harness.records.location import StoreLocation

BUSY_TIMEOUT_MS = 60000
CONNECT_TIMEOUT_S = 15
# One number for every genbench process that opens a PostgreSQL store: they take turns
# to create or upgrade its schema.
SCHEMA_LOCK = schema.APPLICATION_ID
WRITES = "genbench_writes"  # a connection's execution option: it will write


def connect(location: StoreLocation, create: bool) -> Engine:
    """The engine of a store that is ready to use at the current revision; refused with
    a UsageError, and left untouched, when it is not a genbench store this genbench can
    read."""
    engine = _sqlite(location, create) if location.is_sqlite else _postgresql(location)
    try:
        with engine.connect() as connection:
            if location.is_sqlite:  # through the driver itself: SQLAlchemy would begin a transaction
                _prepare_sqlite(connection.connection.driver_connection, location)
            connection.execution_options(**{WRITES: True})
            with connection.begin():  # a store refused here is rolled back, as it was
                _bring_up_to_date(connection, location, create)
                schema.check_tables(connection, str(location), dbfile.RESTORE)
    except UsageError:
        engine.dispose()
        raise
    except DBAPIError as exc:
        engine.dispose()
        raise refused(location, exc) from exc
    return engine


def refused(location: StoreLocation, exc: DBAPIError) -> UsageError:
    """Why a store could not be opened: a server that cannot be reached, or a file that is
    not a usable database."""
    reason = dbfile.reason(exc)
    if not location.is_sqlite and isinstance(exc, OperationalError):
        return UsageError(f"cannot connect to the results database {location}: {reason} (the password comes from "
                          "the URL, $PGPASSWORD or ~/.pgpass)")
    return UsageError(f"{location} is not a usable genbench database ({reason}); it was left untouched: "
                      "pass another --db path")


def _sqlite(location: StoreLocation, create: bool) -> Engine:
    path = location.path
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the results directory {path.parent}: {exc.strerror}") from exc
    dbfile.check_before_opening(path, create)
    # One connection per use: a store is opened by short-lived commands and by workers,
    # and a pooled connection would keep the WAL's side files after close().
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _driver_leaves_transactions_to_us(dbapi_connection, record) -> None:
        # pysqlite's own BEGIN is deferred, and a deferred transaction that turns into a
        # write fails at once under a second writer instead of waiting its turn.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITES) else "BEGIN")

    return engine


def _postgresql(location: StoreLocation) -> Engine:
    # pool_pre_ping: a worker holds its store for a whole training run, through which
    # the server may drop an idle connection.
    # One connection at a time per process: a cluster's hundred workers stay within the
    # server's connection limit. connect_timeout: a server on a dropped network is an
    # error in seconds, not minutes.
    return create_engine(location.secret_url, pool_pre_ping=True, pool_size=1, max_overflow=1,
                         connect_args={"application_name": "genbench", "connect_timeout": CONNECT_TIMEOUT_S})


def _prepare_sqlite(db: sqlite3.Connection, location: StoreLocation) -> None:
    """Refuses a file of a newer genbench before anything is written to it, then turns WAL on."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if app_id != 0:
        _check_sqlite_version(version, location)
        if version == schema.SCHEMA_VERSION:
            dbfile.check_tables(db, location.path)
    db.execute("PRAGMA journal_mode=WAL")


def _check_sqlite_version(version: int, location: StoreLocation) -> None:
    if version > schema.SCHEMA_VERSION:
        raise UsageError(f"{location} has genbench schema version {version}; this genbench reads "
                         f"versions up to {schema.SCHEMA_VERSION}: upgrade genbench")
    if version < 1:
        raise UsageError(f"{location} has genbench's mark but schema version {version}; expected 1 "
                         f"to {schema.SCHEMA_VERSION} (damaged?); {dbfile.RESTORE}")


def _bring_up_to_date(connection: Connection, location: StoreLocation, create: bool) -> None:
    """Inside the caller's write transaction: a new store is created, an older one upgraded."""
    where = str(location)
    if location.is_sqlite:
        app_id, version = schema.sqlite_user_version(connection)
        if app_id == 0:  # a new file (a reader was refused one before opening it)
            schema.create(connection)
            return
        if schema.current(connection) is None:  # revisions 1 to 3 knew only the pragma
            schema.stamp_sqlite_version(connection, version)
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        if schema.current(connection) is None:
            if found := schema.has_tables(connection):
                raise UsageError(f"{where} holds tables ({', '.join(found[:5])}) but no genbench schema revision: "
                                 "the database of another application? it was left untouched: pass another --db")
            if not create:
                raise UsageError(f"{where} is an empty database, not a genbench store; run `genbench run` first "
                                 "or pass --db")
            schema.create(connection)
            return
    revision = schema.current(connection)
    schema.check_revision(revision, where, dbfile.RESTORE)
    if revision != schema.HEAD:
        schema.upgrade(connection)
