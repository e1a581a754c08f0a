"""The throwaway PostgreSQL server the store tests run against (tests/postgres_server.py and
the fixtures in conftest.py): a real server, a fresh empty database per test, both backends
through ``store_location``, and nothing left behind once it stops."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests import postgres_server as pg

USER_TABLES = ("SELECT table_schema, table_name FROM information_schema.tables "
               "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
SEEN_URLS: set[str] = set()


def _dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _running(pid: int) -> bool:
    # An ended server may linger a moment as a zombie until its new parent reaps it.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_it_is_a_real_postgresql_server_of_the_installed_version(postgres_server, postgres_url):
    with postgres_server.connect(_dbname(postgres_url)) as conn:
        version = conn.execute("SELECT version()").fetchone()[0]
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        # The backend serving this connection is a process on this machine, not something in-process.
        assert Path(f"/proc/{backend}/comm").read_text().strip() == "postgres"
    said = subprocess.run([str(postgres_server.initdb), "--version"], capture_output=True, text=True,
                          check=True).stdout
    installed = re.search(r"\(PostgreSQL\) (\S+)", said).group(1)
    assert version.startswith(f"PostgreSQL {installed} "), (version, installed)


def test_the_url_is_the_servers_loopback_port(postgres_server, postgres_url):
    assert postgres_url.startswith(f"postgresql://genbench@127.0.0.1:{postgres_server.port}/")
    assert postgres_server.url_for(_dbname(postgres_url)) == postgres_url


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_gets_a_fresh_empty_database_of_its_own(postgres_server, postgres_url, turn):
    assert postgres_url not in SEEN_URLS
    SEEN_URLS.add(postgres_url)
    with postgres_server.connect(_dbname(postgres_url)) as conn:
        # Were databases shared or reused, the other turn's table would be here.
        assert conn.execute(USER_TABLES).fetchall() == []
        conn.execute("CREATE TABLE left_behind (turn text)")
        conn.execute("INSERT INTO left_behind VALUES (%s)", (turn,))


def test_a_new_database_is_empty_whatever_another_holds(postgres_server, postgres_url):
    with postgres_server.connect(_dbname(postgres_url)) as conn:
        conn.execute("CREATE TABLE t (x int)")
    other = postgres_server.new_database()
    try:
        assert other != postgres_url
        with postgres_server.connect(_dbname(other)) as conn:
            assert conn.execute(USER_TABLES).fetchall() == []
    finally:
        postgres_server.drop_database(_dbname(other))


def test_a_committed_value_reads_back_on_another_connection(postgres_server, postgres_url):
    with postgres_server.connect(_dbname(postgres_url), autocommit=False) as conn:
        conn.execute("CREATE TABLE scores (name text PRIMARY KEY, fid double precision)")
        conn.execute("INSERT INTO scores VALUES (%s, %s)", ("gaussian", 12.5))
        conn.commit()
    with postgres_server.connect(_dbname(postgres_url)) as conn:
        assert conn.execute("SELECT name, fid FROM scores").fetchall() == [("gaussian", 12.5)]


def test_sqlalchemy_connects_with_the_url_as_given(postgres_url):
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database(), current_user")).one() == (
                _dbname(postgres_url), "genbench")
    finally:
        engine.dispose()


def test_the_database_is_dropped_after_its_test_even_with_a_connection_left_open(postgres_server, request):
    left: dict = {}

    def dropped_then_close() -> None:
        try:
            with postgres_server.connect() as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (left["name"],)).fetchall()
            assert found == [], f"{left['name']} outlived its test"
        finally:
            left["conn"].close()

    # Finalizers run last in, first out: registered before postgres_url is set up, this one
    # runs after postgres_url's teardown, while the connection below is still open.
    request.addfinalizer(dropped_then_close)
    left["name"] = _dbname(request.getfixturevalue("postgres_url"))
    left["conn"] = postgres_server.connect(left["name"])


def test_store_location_is_a_file_then_a_fresh_database(store_location, tmp_path, request):
    backend = request.node.callspec.params["store_location"]
    marked = request.node.get_closest_marker("postgres") is not None
    if backend == "sqlite":
        assert store_location == str(tmp_path / "genbench.sqlite")
        assert not marked
        return
    assert backend == "postgresql"
    assert store_location.startswith("postgresql://genbench@127.0.0.1:")
    assert marked
    with request.getfixturevalue("postgres_server").connect(_dbname(store_location)) as conn:
        assert conn.execute(USER_TABLES).fetchall() == []


def test_the_postgres_fixtures_mark_their_tests(postgres_url, request):
    assert request.node.get_closest_marker("postgres") is not None


@pytest.mark.postgres
def test_stop_ends_the_server_and_deletes_its_files():
    pg.require_postgres()
    server = pg.PostgresServer().start()
    try:
        base = server.base
        pid = int((server.data / "postmaster.pid").read_text().split()[0])
        assert _running(pid)
        assert server.new_database().endswith("/test_1")
    finally:
        server.stop()
    assert not base.exists()
    assert not _running(pid)
    server.stop()  # twice is harmless (atexit calls it again)


@pytest.mark.parametrize("required", [False, True])
def test_a_missing_server_skips_or_under_require_fails(monkeypatch, required):
    monkeypatch.setattr(pg, "find_binaries", lambda: None)
    if required:
        monkeypatch.setenv(pg.REQUIRE_ENV, "1")
    else:
        monkeypatch.delenv(pg.REQUIRE_ENV, raising=False)
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(expected, match="no PostgreSQL server programs"):
        pg.require_postgres()
