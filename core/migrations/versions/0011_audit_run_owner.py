"""audit run owner: the process that accepted or runs an audit attempt (crash recovery)

Revision ID: 0011_audit_run_owner
Revises: 0010_external_models
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011_audit_run_owner"
down_revision: str | None = "0010_external_models"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.drop_column("owner")
