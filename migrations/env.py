"""Alembic environment: runs on the connection handed in by service.storage.migrate."""

from alembic import context

import service.storage.models  # noqa: F401  (registers the service tables)
from federation.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `denex` (service.storage.migrate), not alembic")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
