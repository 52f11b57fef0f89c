"""The migrated schema is exactly what the table models declare (index tables included)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import api.db_models
import audit.db_models
import audit.rewards.db_models
import governance.index.models
import governance.relay.outbox
import scheduler.db_models

#: Importing these registers every table model in SQLModel.metadata.
TABLE_MODULES = (
    api.db_models,
    audit.db_models,
    audit.rewards.db_models,
    governance.index.models,
    governance.relay.outbox,
    scheduler.db_models,
)


def test_the_migrations_create_what_the_models_declare(engine: Engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_proposals_have_classification_columns_and_protection_events_a_table(engine: Engine):
    schema = inspect(engine)
    columns = {c["name"]: c for c in schema.get_columns("proposal")}
    for name in ("loosening", "changes", "supermajority_numerator", "supermajority_denominator"):
        assert columns[name]["nullable"]
    assert "protection_event" in schema.get_table_names()
