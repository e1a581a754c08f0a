"""Where a results store is, as ``--db`` gives it, without a server: a bad URL named,
a password never shown (nor echoed by argparse), and handed to workers in memory."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from harness.records.location import StoreLocation, hide_passwords
from tests.helpers import genbench


@pytest.mark.parametrize("url, expected", [
    ("mysql://u@h/db", "unsupported URL scheme 'mysql'"),
    ("postgresql://u@h:5432", "names no database"),
    ("postgresql+psycopg2://u@h/db", "unsupported URL scheme"),
    ("postgresql://u:se@cret@h/db", "password holds an '@', which a URL writes as %40"),
])
def test_a_bad_url_is_named(run_cli, url, expected):
    code, _, err = run_cli("runs", "--db", url)
    assert code == 2 and expected in err and "cret" not in err


def test_a_url_that_argparse_echoes_has_its_password_hidden():
    done = genbench("db", "info", "postgresql://bench:pw-in-url@db:5432/g")  # without --db
    assert done.returncode == 2 and "unrecognized arguments: postgresql://bench:***@db:5432/g" in done.stderr
    assert "pw-in-url" not in done.stderr + done.stdout


@pytest.mark.parametrize("text, shown", [
    ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
    ("'postgresql://u:p@ss@h/db'", "'postgresql://u:***@h/db'"),
    ("at postgresql://u:p/ss@h:5432/db now", "at postgresql://u:***@h:5432/db now"),
    ("postgresql://u@h/db?password=pw&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
    ("postgresql://u@h/db and /runs/genbench.sqlite", "postgresql://u@h/db and /runs/genbench.sqlite"),
])
def test_hide_passwords_masks_every_spelling_of_one(text, shown):
    assert hide_passwords(text) == shown


@pytest.mark.parametrize("url", ["postgresql://bench:pw-in-url@db:5432/g", "postgresql://bench@db:5432/g?password=pw-in-url"])
def test_a_password_is_left_out_of_what_is_shown_and_kept_for_workers(url, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    location = StoreLocation.parse(url)
    assert "pw-in-url" not in str(location) and "pw-in-url" not in repr(location)
    assert str(location) == "postgresql://bench@db:5432/g"
    assert "pw-in-url" in location.for_workers  # a worker connects with it


def test_pgpassword_travels_to_workers_in_memory(monkeypatch):
    """A Ray task runs in its node's environment, which need not hold PGPASSWORD."""
    monkeypatch.setenv("PGPASSWORD", "from-the-env")
    location = StoreLocation.parse("postgresql://bench@db:5432/g")
    assert make_url(location.for_workers).password == "from-the-env" and "from-the-env" not in str(location)
    given = StoreLocation.parse("postgresql://bench:given@db:5432/g")
    assert make_url(given.for_workers).password == "given"  # the URL's own wins
