"""rewards: one stored statement per (ProviderRewards contract, epoch)

A posted row whose root a reorg dropped is turned back into ``built`` with no epoch before
its number can be taken by another run's post, so two rows never claim one epoch.

Revision ID: 0009_reward_epoch_unique
Revises: 0008_rewards
Create Date: 2026-12-03 18:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_reward_epoch_unique"
down_revision: str | None = "0008_rewards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reward_statement", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_reward_statement_contract_epoch", ["rewards_contract", "epoch"]
        )


def downgrade() -> None:
    with op.batch_alter_table("reward_statement", schema=None) as batch_op:
        batch_op.drop_constraint("uq_reward_statement_contract_epoch", type_="unique")
