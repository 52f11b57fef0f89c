"""external models: registered ONNX files, scored by onnxruntime in governed audits (#17)

Revision ID: 0010_external_models
Revises: 0009_reward_epoch_unique
Create Date: 2026-12-04 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010_external_models"
down_revision: str | None = "0009_reward_epoch_unique"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("model_hash", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("signature_json", sa.Text(), nullable=False),
        sa.Column("producer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "model_hash"),
    )
    with op.batch_alter_table("external_model", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_external_model_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_external_model_model_hash"), ["model_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("external_model", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_model_model_hash"))
        batch_op.drop_index(batch_op.f("ix_external_model_name"))
    op.drop_table("external_model")
