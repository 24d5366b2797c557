"""Alembic's entry point for the prediction database (``prediction_log.migrate`` runs it).

Workers of several predictors may start at once: a PostgreSQL advisory lock, held for the
migration's transaction, lets one of them migrate while the others wait and then find nothing to do.
"""

from alembic import context
from sqlalchemy import text

from predictor.schema import metadata

MIGRATION_LOCK = 0x6D6E6973  # any fixed number, the same for every predictor process

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
with context.begin_transaction():
    context.run_migrations()
