"""relay finality: the block hash of a confirmation and whether it is final

An item is confirmed when its receipt is seen, and final once its block lies the configured
depth below the head; until then the relayer checks it again on every pass, because a
reorg or an anvil restored from its last save can take the transaction away.

Revision ID: 0006_relay_finality
Revises: 0005
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = "0006_relay_finality"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relay_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("block_hash", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True)
        )
        batch_op.add_column(
            sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            batch_op.f("ix_relay_item_status_final"), ["status", "final"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("relay_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_item_status_final"))
        batch_op.drop_column("final")
        batch_op.drop_column("block_hash")
