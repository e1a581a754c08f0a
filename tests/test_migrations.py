"""The store's schema revisions: a store written by the release before this one (an
SQLite file at ``user_version`` 3, or a PostgreSQL database at revision 0003) upgrades
in place and reads the same; the tables in code and the migrations agree."""

from __future__ import annotations

import contextlib
import json
import sqlite3

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from harness.records import ResultsStore, schema, tables
from harness.records.location import StoreLocation


def _at_revision(location: str, revision: str) -> None:
    """An empty database brought to ``revision`` by the migrations; an SQLite file then
    looks exactly as the release that wrote that revision left it: marked by its pragma,
    with no Alembic table."""
    parsed = StoreLocation.parse(location)
    engine = create_engine(f"sqlite:///{parsed.path}" if parsed.is_sqlite else parsed.secret_url)
    with engine.begin() as connection:
        command.upgrade(schema._alembic_config(connection), revision)
        if parsed.is_sqlite:
            connection.exec_driver_sql(f"DROP TABLE {schema.VERSION_TABLE}")
            connection.exec_driver_sql(f"PRAGMA application_id={schema.APPLICATION_ID}")
            connection.exec_driver_sql(f"PRAGMA user_version={int(revision)}")
        connection.execute(text(
            "INSERT INTO suite_runs VALUES ('s1', 'quick', 'nightly', 'quick', 1.0, 2.0, '{\"runs\": 2}', '{}')"))
        for run_id, status in (("r1", "ok"), ("r2", "pending")):
            connection.execute(text(
                "INSERT INTO runs (id, suite_run, generator, dataset, budget, seed, status, run_dir, options, given, "
                "used, env, started, finished) VALUES (:id, 's1', 'dcgan', 'clocks', 'quick', 7, :status, '/x', "
                "'{}', '{\"images\": 10}', '{\"images_seen\": 10}', '{}', 1.0, 2.0)"), {"id": run_id, "status": status})
        connection.execute(text("INSERT INTO evaluations VALUES ('r1', 10, 0.5, '{\"train/loss\": 1.0}')"))
        connection.execute(text("INSERT INTO metrics VALUES ('r1', 'fd-clocknet', 3.25, 'min', 512, "
                                "'{\"extractor\": \"clocknet\"}', NULL, 'fd')"))
    engine.dispose()


def test_a_store_of_the_last_release_upgrades_in_place(store_location):
    _at_revision(store_location, "0003")
    store = ResultsStore(store_location)
    with store.engine.connect() as connection:
        assert schema.current(connection) == schema.HEAD
        indexes = {i["name"] for i in inspect(connection).get_indexes("runs")}
        attempts = dict(connection.execute(text("SELECT id, attempts FROM runs")).all())
    assert {"ix_runs_suite_run", "ix_runs_generator"} <= indexes
    assert attempts == {"r1": 1, "r2": 0}  # a run that had started, started once
    ok = store.run("r1")
    assert ok.status == "ok" and ok.seed == 7 and ok.used == {"images_seen": 10}
    assert [(m.name, m.value, m.kind, m.n) for m in store.metrics("r1")] == [("fd-clocknet", 3.25, "fd", 512)]
    assert store.evaluations("r1")[0].values == {"train/loss": 1.0}
    assert store.suite_run("s1").label == "nightly"
    store.close()
    if StoreLocation.parse(store_location).is_sqlite:  # an older genbench refuses it, by its pragma
        with contextlib.closing(sqlite3.connect(store_location)) as con:
            assert con.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    ResultsStore(store_location).close()  # opening it again changes nothing


def test_tables_in_code_and_migrations_agree(store_location):
    """The head revision built by the migrations is the schema ``tables`` declares (what
    ``create`` writes for a new store), column for column and index for index."""
    parsed = StoreLocation.parse(store_location)
    engine = create_engine(f"sqlite:///{parsed.path}" if parsed.is_sqlite else parsed.secret_url)
    with engine.begin() as connection:
        command.upgrade(schema._alembic_config(connection), "head")
        context = MigrationContext.configure(connection, opts={"version_table": schema.VERSION_TABLE})
        differences = compare_metadata(context, tables.metadata)
    engine.dispose()
    # SQLite reports no server defaults for comparison; types alone are compared loosely there.
    assert [d for d in differences if "server_default" not in json.dumps(d, default=str)] == []


def test_head_is_the_revision_the_code_writes():
    script = ScriptDirectory(str(schema.MIGRATIONS))
    assert script.get_current_head() == schema.HEAD
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == list(schema.REVISIONS)
