"""proposal protection: each proposal's classification, and the governor's protection events

A proposal records what the governor's ProposalClassified event said when it was made:
whether it loosens, the classifier's label per call and the supermajority it then needed.
``protection_event`` keeps SupermajoritySet, LooseningVotingPeriodSet and ProposalGuardianSet.
No backfill: these events exist only on deployments made after this migration's code, and
the index of an older deployment is refused as stale.

Revision ID: 0007_proposal_protection
Revises: 0006_relay_finality
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007_proposal_protection"
down_revision: str | None = "0006_relay_finality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("loosening", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("changes", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "supermajority_numerator",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "supermajority_denominator",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=True,
            )
        )
    op.create_table(
        "protection_event",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("tx_hash", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index"),
    )
    with op.batch_alter_table("protection_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_protection_event_name"), ["name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("protection_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protection_event_name"))
    op.drop_table("protection_event")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_column("supermajority_denominator")
        batch_op.drop_column("supermajority_numerator")
        batch_op.drop_column("changes")
        batch_op.drop_column("loosening")
