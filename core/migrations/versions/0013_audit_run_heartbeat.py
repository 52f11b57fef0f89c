"""audit run heartbeat: when the process owning a queued or running run last showed it lives

A run row owned on another host could never be judged gone (its pid lives in another
``/proc``), so it stayed ``queued`` or ``running`` for ever once that host did not come back.
Its owner now refreshes ``heartbeat_at`` while it lives, and a row silent for the heartbeat
timeout is recovered whatever its host. Rows written before this migration had no heartbeat:
each takes its ``created_at``, the last moment its process is known to have lived, so a row
of a process that was gone before the upgrade is recovered once the timeout has passed
since then.

Revision ID: 0013_audit_run_heartbeat
Revises: 0012_anchor_finality
Create Date: 2026-12-14 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0013_audit_run_heartbeat"
down_revision: str | None = "0012_anchor_finality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # The same stored value as created_at (copied, not converted), on SQLite and PostgreSQL.
    op.execute("UPDATE audit_run SET heartbeat_at = created_at WHERE heartbeat_at IS NULL")
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.alter_column(
            "heartbeat_at", existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
