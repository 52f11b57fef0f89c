"""anchor finality: the block hash an audit's anchor was seen in, since when, and whether final

An anchor is checked against the AuditRegistry on every ``post_rewards`` pass until it is
final (its block deep enough below the head and seen there long enough), whatever the head
is: a rollback followed by new blocks used to bury a lost anchor's height, and the anchor
was never published again. Rows anchored before this migration are not final, so the next
passes check each of them once more.

Revision ID: 0012_anchor_finality
Revises: 0011_audit_run_owner
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012_anchor_finality"
down_revision: str | None = "0011_audit_run_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "anchor_block_hash", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("anchor_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("anchor_final", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            batch_op.f("ix_audit_run_anchor_final"), ["anchor_final"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_run_anchor_final"))
        batch_op.drop_column("anchor_final")
        batch_op.drop_column("anchor_seen_at")
        batch_op.drop_column("anchor_block_hash")
