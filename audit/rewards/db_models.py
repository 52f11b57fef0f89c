"""Tables of the providers' rewards: each approved run's statement, and its allocations.

A statement row is written (``built``) before its root is posted, and marked ``posted`` with
its epoch once the chain holds it, so a crash between the two is found again and finished
from the chain (``epochOfRun``), never posted twice. A ``posted`` row whose epoch a reorg
dropped goes back to ``built`` (:mod:`audit.rewards.due`); one row per (contract, epoch).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, func, select
from sqlmodel.sql.sqltypes import AutoString


def utcnow() -> datetime:
    return datetime.now(UTC)


class StatementStatus(StrEnum):
    BUILT = "built"
    POSTED = "posted"


class RewardStatementRecord(SQLModel, table=True):
    """One run's reward statement (canonical JSON) and where its root is."""

    __tablename__ = "reward_statement"
    __table_args__ = (
        UniqueConstraint("rewards_contract", "run_id"),
        UniqueConstraint("rewards_contract", "epoch", name="uq_reward_statement_contract_epoch"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rewards_contract: str = Field(max_length=42)
    run_id: str = Field(index=True, max_length=66)
    model_name: str = Field(max_length=200)
    chain_id: int = Field(sa_type=BigInteger)
    statement_hash: str = Field(max_length=66)
    root: str = Field(max_length=66)
    total: str = Field(max_length=80, description="base units, decimal")
    statement_json: str = Field(sa_column=Column(Text, nullable=False))
    status: StatementStatus = Field(
        default=StatementStatus.BUILT, index=True, sa_type=AutoString(length=12)
    )
    epoch: int | None = Field(default=None, index=True, sa_type=BigInteger)
    post_tx: str | None = Field(default=None, max_length=66)
    challenge_ends: int | None = Field(default=None, sa_type=BigInteger)
    error_code: str | None = Field(default=None, max_length=60)
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    posted_at: datetime | None = None


class RewardAllocationRecord(SQLModel, table=True):
    """One provider's amount in a statement (the statement's leaves, for listing by provider)."""

    __tablename__ = "reward_allocation"
    __table_args__ = (UniqueConstraint("statement_id", "provider"),)

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("reward_statement.id", ondelete="CASCADE"), nullable=False
        )
    )
    provider: str = Field(index=True, max_length=42, description="lower-case address")
    amount: str = Field(max_length=80, description="base units, decimal")


def open_windows(session: Session, now: float) -> int:
    """How many posted reward epochs are still in their challenge window at ``now`` (unix
    seconds): a chain that mines only on demand must keep mining until their windows end, or
    nobody could ever claim on an idle development chain."""
    statement = (
        select(func.count())
        .where(RewardStatementRecord.status == StatementStatus.POSTED)
        .where(col(RewardStatementRecord.challenge_ends) > int(now))
    )
    return int(session.exec(statement).one())
