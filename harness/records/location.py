"""Where a results store is: an SQLite file (a path, the embedded default) or a
PostgreSQL server (a ``postgresql://user@host:port/dbname`` URL), as ``--db`` and
``GENBENCH_DB`` give it.

A URL may carry a password. It is kept only in ``secret_url``, which goes to the
processes that open the same store (a worker, a Ray task); everything that is printed,
logged or written to a file uses ``str(location)``, which never shows it. The password
may also come from ``PGPASSWORD`` or ``~/.pgpass``, which libpq reads itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError

SCHEMES = ("postgresql", "postgres")
DRIVER = "postgresql+psycopg"  # psycopg 3; SQLAlchemy's plain "postgresql" means psycopg2
_URLS = re.compile(r"[A-Za-z][\w+.-]*://[^\s'\"]+")
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&\s'\"]*")


def looks_like_url(text: str) -> bool:
    """Whether ``--db`` was given a server URL rather than a file path."""
    return "://" in text


@dataclass(frozen=True)
class StoreLocation:
    """A parsed ``--db``: ``path`` for SQLite, else a PostgreSQL URL."""

    path: Path | None
    secret_url: str = field(default="", repr=False)
    shown: str = ""

    @classmethod
    def parse(cls, text: str | os.PathLike) -> StoreLocation:
        """A path or a URL; a URL of another scheme, or one without a database name, is
        refused with what is expected."""
        if isinstance(text, os.PathLike) or not looks_like_url(text):
            return cls(Path(text), "", str(text))
        from sqlalchemy.engine import URL, make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(text)
        except (ArgumentError, ValueError) as exc:
            raise UsageError(f"--db: {hide_passwords(text)!r} is not a database URL ({exc})") from None
        if url.host and "@" in url.host:  # the password's own "@" taken for the end of it
            raise UsageError("--db: the URL's user name or password holds an '@', which a URL writes as %40 "
                             "(postgresql://user:pa%40ss@host/dbname); the URL is not shown, as it may hold a "
                             "password")
        backend, _, driver = url.drivername.partition("+")
        if backend not in SCHEMES or driver not in ("", "psycopg"):
            raise UsageError(f"--db: unsupported URL scheme {url.drivername!r}; give an SQLite file path or "
                             "postgresql://user@host:port/dbname")
        if not url.database:
            raise UsageError(f"--db {url.render_as_string(hide_password=True)}: the URL names no database; "
                             "expected postgresql://user@host:port/dbname")
        url = url.set(drivername=DRIVER)
        # libpq also takes a password as a query parameter: that is left out as well.
        without = URL.create(url.drivername, url.username, None, url.host, url.port, url.database,
                             url.difference_update_query(["password"]).query)
        shown = _public(without.render_as_string(hide_password=False))
        return cls(None, url.render_as_string(hide_password=False), shown)

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    @property
    def for_workers(self) -> str:
        """What another process opens the same store with (may hold a password: never
        print it). A password from ``PGPASSWORD`` goes into the URL: a Ray task runs in
        the environment its node was started with, which need not have it."""
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        url = make_url(self.secret_url)
        if url.password is None and "password" not in url.query and os.environ.get("PGPASSWORD"):
            url = url.set(password=os.environ["PGPASSWORD"])
        return url.render_as_string(hide_password=False)

    def exists(self) -> bool:
        """A file that exists; a server is there to be asked (it is checked when opened)."""
        return self.path is None or self.path.exists()

    def __str__(self) -> str:
        """The path, or the URL without its password (which the user gives again through
        ``PGPASSWORD`` or ``~/.pgpass``, as with ``psql``)."""
        return self.shown


def _public(rendered: str) -> str:
    """The URL as the user would write it (``postgresql://``), without the driver's name."""
    return rendered.replace(f"{DRIVER}://", "postgresql://", 1)


def hide_passwords(text: str) -> str:
    """``text`` with every URL's password masked: anything between the user name's ``:``
    and the last ``@`` (a password may hold an unescaped ``@`` or ``/``), and a
    ``password=`` query parameter. For messages that may echo what was typed."""
    def hide(match: re.Match) -> str:
        url = _PASSWORD_PARAMETER.sub(r"\1***", match.group(0))
        scheme, _, rest = url.partition("://")
        credentials, at, host = rest.rpartition("@")
        if not at or ":" not in credentials:
            return url
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"

    return _URLS.sub(hide, text)
