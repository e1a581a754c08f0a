"""Alembic's entry point for genbench's results store. genbench runs migrations itself
(``records.revisions``) on a connection it already holds inside a transaction, so this
only hands that connection to Alembic; there is no alembic.ini and no database URL here."""

from alembic import context

from harness.records.schema import VERSION_TABLE
from harness.records.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, version_table=VERSION_TABLE)
with context.begin_transaction():  # joins the caller's transaction: a failed step undoes them all
    context.run_migrations()
