"""A throwaway PostgreSQL server for the results store's PostgreSQL tests: a fresh data
directory (initdb) in a temporary folder, a server on a free loopback port, an empty
database per test, and everything removed at the end. Where PostgreSQL (or psycopg) is
missing the tests skip, unless GENBENCH_REQUIRE_POSTGRES=1 (set by CI), where they fail."""

from __future__ import annotations

import atexit
import itertools
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

REQUIRE_ENV = "GENBENCH_REQUIRE_POSTGRES"
SUPERUSER = "genbench"
HOST = "127.0.0.1"
# initdb refuses to run as root, so as root the server runs as Debian's postgres account.
SERVICE_ACCOUNT = "postgres"
TIMEOUT_S = 120


def find_binaries() -> tuple[Path, Path] | None:
    """``(initdb, pg_ctl)``: from PATH, else from the newest ``/usr/lib/postgresql/*/bin``
    (Debian keeps them off PATH); None when there are none."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb), Path(pg_ctl)

    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))

    bindirs = [d for d in Path("/usr/lib/postgresql").glob("*/bin")
               if (d / "initdb").is_file() and (d / "pg_ctl").is_file()]
    if not bindirs:
        return None
    newest = max(bindirs, key=version)
    return newest / "initdb", newest / "pg_ctl"


def missing_reason() -> str | None:
    """Why no throwaway server can be started here, or None when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    if find_binaries() is None:
        return ("no PostgreSQL server programs (no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin; "
                "apt-get install postgresql)")
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            return "running as root, where initdb needs runuser to drop to another account, and there is no runuser"
        try:
            import pwd

            pwd.getpwnam(SERVICE_ACCOUNT)
        except KeyError:
            return f"running as root, where initdb refuses to run, and there is no {SERVICE_ACCOUNT!r} account"
    return None


def require_postgres() -> None:
    """Skips the calling test when PostgreSQL is missing; fails it under GENBENCH_REQUIRE_POSTGRES=1."""
    reason = missing_reason()
    if reason and os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    if reason:
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class PostgresServer:
    """One throwaway server. ``start()`` runs initdb and the server; ``new_database()``
    makes an empty database and returns its URL; ``stop()`` ends the server and deletes
    its files (also run at interpreter exit, should the caller never get to it)."""

    def __init__(self) -> None:
        binaries = find_binaries()
        if binaries is None:
            raise RuntimeError(missing_reason() or "no PostgreSQL server programs")
        self.initdb, self.pg_ctl = binaries
        self.as_root = os.geteuid() == 0
        self.port: int | None = None
        self.base: Path | None = None
        self._names = itertools.count(1)

    @property
    def data(self) -> Path:
        assert self.base is not None, "not started"
        return self.base / "data"

    @property
    def log(self) -> Path:
        assert self.base is not None, "not started"
        return self.base / "server.log"

    def _run(self, *command: str | Path) -> subprocess.CompletedProcess:
        argv = [str(c) for c in command]
        if self.as_root:
            argv = ["runuser", "-u", SERVICE_ACCOUNT, "--", *argv]
        # cwd: the service account may not be able to enter the caller's directory (/root).
        return subprocess.run(argv, cwd=self.base, capture_output=True, text=True, timeout=TIMEOUT_S)

    def _make_base(self) -> Path:
        if not self.as_root:
            return Path(tempfile.mkdtemp(prefix="genbench-postgres-"))
        import pwd

        account = pwd.getpwnam(SERVICE_ACCOUNT)
        # $TMPDIR may sit somewhere the service account cannot reach (under /root): then /tmp.
        for parent in dict.fromkeys([tempfile.gettempdir(), "/tmp"]):
            base = Path(tempfile.mkdtemp(prefix="genbench-postgres-", dir=parent))
            os.chown(base, account.pw_uid, account.pw_gid)
            reachable = subprocess.run(["runuser", "-u", SERVICE_ACCOUNT, "--", "test", "-w", str(base)],
                                       capture_output=True, timeout=TIMEOUT_S).returncode == 0
            if reachable:
                return base
            shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"the {SERVICE_ACCOUNT!r} account can reach no temporary folder (tried $TMPDIR, /tmp)")

    def start(self) -> PostgresServer:
        """initdb and start; returns self. Raises RuntimeError, with the server's log, when either fails."""
        atexit.register(self.stop)
        self.base = self._make_base()
        sockets = self.base / "socket"
        sockets.mkdir(mode=0o700)
        if self.as_root:
            shutil.chown(sockets, SERVICE_ACCOUNT, SERVICE_ACCOUNT)
        # trust: the server listens on loopback only and lives for one test session; C locale so
        # initdb works whatever locales this machine has; no sync because the data is thrown away.
        done = self._run(self.initdb, "-D", self.data, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                         "--locale=C", "--no-sync", "--no-instructions")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        # Between finding a free port and the server binding it another process may take it: retry.
        for _ in range(3):
            self.port = _free_port()
            options = ["-c", f"listen_addresses={HOST}", "-p", str(self.port), "-k", str(sockets),
                       "-c", "max_connections=200", "-c", "fsync=off", "-c", "synchronous_commit=off",
                       "-c", "full_page_writes=off"]
            done = self._run(self.pg_ctl, "-w", "-t", str(TIMEOUT_S), "-D", self.data, "-l", self.log,
                             "-o", shlex.join(options), "start")
            if done.returncode == 0:
                return self
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            if "could not bind" not in log and "in use" not in log:
                break
        raise RuntimeError(f"pg_ctl start failed ({done.returncode}):\n{done.stdout}{done.stderr}\n"
                           f"server log {self.log}:\n{log[-4000:]}")

    def stop(self) -> None:
        """Ends the server (no shutdown checkpoint: nothing is kept) and deletes its files; safe to call twice."""
        atexit.unregister(self.stop)
        if self.base is None:
            return
        if (self.data / "postmaster.pid").exists():
            self._run(self.pg_ctl, "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None

    def url_for(self, dbname: str) -> str:
        """The URL of database ``dbname`` on this server, as the results store takes it."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", autocommit: bool = True):
        """A psycopg connection to ``dbname`` as the superuser."""
        import psycopg

        return psycopg.connect(host=HOST, port=self.port, user=SUPERUSER, dbname=dbname, autocommit=autocommit,
                               connect_timeout=30)

    def new_database(self, name: str | None = None) -> str:
        """Creates an empty database (``test_1``, ``test_2``, ... unless named) and returns its URL."""
        name = name or f"test_{next(self._names)}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drops ``name``, ending any connections to it a test left open."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
