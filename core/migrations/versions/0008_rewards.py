"""providers' rewards: each approved run's reward statement and its allocations

``reward_statement`` holds the canonical JSON of a statement, its hash and root, and the
epoch once posted; ``reward_allocation`` its (provider, amount) leaves, to list a provider's
rewards.

Revision ID: 0008_rewards
Revises: 0007_proposal_protection
Create Date: 2026-12-03 16:42:02.138977
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0008_rewards'
down_revision: str | None = '0007_proposal_protection'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reward_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rewards_contract', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('model_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('statement_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('total', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('statement_json', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=True),
    sa.Column('post_tx', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('challenge_ends', sa.BigInteger(), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('posted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rewards_contract', 'run_id')
    )
    with op.batch_alter_table('reward_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_statement_epoch'), ['epoch'], unique=False)
        batch_op.create_index(batch_op.f('ix_reward_statement_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reward_statement_status'), ['status'], unique=False)

    op.create_table('reward_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('amount', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['reward_statement.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_id', 'provider')
    )
    with op.batch_alter_table('reward_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_allocation_provider'), ['provider'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reward_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_allocation_provider'))

    op.drop_table('reward_allocation')
    with op.batch_alter_table('reward_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_statement_status'))
        batch_op.drop_index(batch_op.f('ix_reward_statement_run_id'))
        batch_op.drop_index(batch_op.f('ix_reward_statement_epoch'))

    op.drop_table('reward_statement')
