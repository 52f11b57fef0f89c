"""Alembic environment: runs on the connection :func:`core.db.upgrade` hands over.

Autogenerate (``fairgov db revision``) imports every model module first, so
``SQLModel.metadata`` is complete here without core importing the domain packages.
"""

from alembic import context
from sqlmodel import SQLModel

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
