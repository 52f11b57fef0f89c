"""Tables of the chain index: what the governance contracts emitted, and what it means.

``index_event`` is the append-only record of every followed event, keyed by
``(block_number, log_index)``. Every other table is a projection of it, and every row of
a projection carries the block that made it, so a chain reorganisation is undone by
deleting what lies above the common ancestor and replaying the few events that touched
the same proposals and delegators.

uint256 values (proposal ids, vote weights, token amounts, quorums) are decimal strings:
SQLite cannot hold them as integers and its NUMERIC type rounds them through floats.
Block numbers and chain ids are BIGINT.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

UINT256_DIGITS = 78


def _key() -> Any:
    """A BIGINT primary key column that is never auto-numbered."""
    return Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})


def _uint(**kwargs: Any) -> Any:
    return Field(max_length=UINT256_DIGITS, **kwargs)


class IndexCursor(SQLModel, table=True):
    """The last block whose effects are committed. Written in the same transaction."""

    __tablename__ = "index_cursor"

    id: int = Field(default=1, primary_key=True)
    chain_id: int = Field(sa_type=BigInteger)
    governor: str = Field(max_length=42, description="the deployment the index belongs to")
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str = Field(max_length=66)
    block_timestamp: int = Field(sa_type=BigInteger)


class IndexBlock(SQLModel, table=True):
    """A recently indexed block's hash, kept to find the common ancestor after a reorg."""

    __tablename__ = "index_block"

    block_number: int = _key()
    block_hash: str = Field(max_length=66)
    parent_hash: str = Field(max_length=66)
    timestamp: int = Field(sa_type=BigInteger)


class IndexEvent(SQLModel, table=True):
    """One followed event as emitted. ``args`` is JSON; ints stay exact."""

    __tablename__ = "index_event"

    block_number: int = _key()
    log_index: int = _key()
    block_hash: str = Field(max_length=66)
    tx_hash: str = Field(max_length=66)
    contract: str = Field(max_length=20)
    name: str = Field(max_length=32, index=True)
    proposal_id: str | None = _uint(default=None, index=True)
    account: str | None = Field(default=None, max_length=42, index=True)
    args: str = Field(sa_column=Column(Text, nullable=False))

    def args_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.args)
        return data


class Proposal(SQLModel, table=True):
    """A governor proposal with its decoded actions, tallies and state.

    ``state`` is as of the cursor block and follows OpenZeppelin's ``Governor.state``;
    ``quorum`` is ``governor.quorum(snapshot)``, read once the snapshot is in the past.
    """

    __tablename__ = "proposal"

    proposal_id: str = _uint(primary_key=True)
    proposer: str = Field(max_length=42, index=True)
    description: str = Field(sa_column=Column(Text, nullable=False))
    description_hash: str = Field(max_length=66)
    calls: str = Field(
        sa_column=Column(Text, nullable=False),
        description='JSON {"targets", "values" (decimal strings), "calldatas" (0x hex)}',
    )
    actions: str = Field(sa_column=Column(Text, nullable=False), description="JSON list[Action]")
    snapshot: int = Field(sa_type=BigInteger, description="voteStart: votes counted here")
    vote_end: int = Field(sa_type=BigInteger, description="the deadline when proposed")
    deadline: int = Field(sa_type=BigInteger, description="after late-quorum extensions")
    eta: int | None = Field(default=None, sa_type=BigInteger, description="unix seconds")
    quorum: str | None = _uint(default=None)
    for_votes: str = _uint(default="0")
    against_votes: str = _uint(default="0")
    abstain_votes: str = _uint(default="0")
    state: str = Field(max_length=10, index=True)
    created_block: int = Field(sa_type=BigInteger, index=True)
    created_log_index: int = Field(sa_type=BigInteger)
    tx_hash: str = Field(max_length=66)
    queued_block: int | None = Field(default=None, sa_type=BigInteger)
    executed_block: int | None = Field(default=None, sa_type=BigInteger)
    canceled_block: int | None = Field(default=None, sa_type=BigInteger)
    loosening: bool | None = Field(
        default=None, description="ProposalClassified: whether it loosens; None until classified"
    )
    changes: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="JSON list of the classifier's label per call (governance.protection.Change)",
    )
    supermajority_numerator: str | None = Field(
        default=None, max_length=20, description="uint64: the supermajority recorded when made"
    )
    supermajority_denominator: str | None = Field(default=None, max_length=20)

    def calls_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.calls)
        return data

    def actions_list(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(self.actions)
        return data

    def changes_list(self) -> list[str]:
        """The classifier's label of each call (empty until the proposal is classified)."""
        data: list[str] = [] if self.changes is None else json.loads(self.changes)
        return data


class Vote(SQLModel, table=True):
    """One voter's vote on one proposal."""

    __tablename__ = "vote"

    proposal_id: str = _uint(primary_key=True)
    voter: str = Field(max_length=42, primary_key=True)
    support: int
    weight: str = _uint()
    reason: str = Field(sa_column=Column(Text, nullable=False))
    params: str = Field(sa_column=Column(Text, nullable=False), description="0x hex")
    block_number: int = Field(sa_type=BigInteger, index=True)
    log_index: int = Field(sa_type=BigInteger)
    tx_hash: str = Field(max_length=66)


class Delegate(SQLModel, table=True):
    """The current delegate of each delegator."""

    __tablename__ = "delegate"

    delegator: str = Field(max_length=42, primary_key=True)
    delegate: str = Field(max_length=42, index=True)
    block_number: int = Field(sa_type=BigInteger, index=True)
    log_index: int = Field(sa_type=BigInteger)


class VotesCheckpoint(SQLModel, table=True):
    """A delegate's voting power from ``block_number`` on (``DelegateVotesChanged``)."""

    __tablename__ = "votes_checkpoint"

    block_number: int = _key()
    log_index: int = _key()
    delegate: str = Field(max_length=42, index=True)
    votes: str = _uint()


class PolicyEvent(SQLModel, table=True):
    """A TrainingPolicy change. ``subject`` is the dataset id or metric; ``args`` JSON."""

    __tablename__ = "policy_event"

    block_number: int = _key()
    log_index: int = _key()
    name: str = Field(max_length=32)
    subject: str | None = Field(default=None, max_length=66, index=True)
    policy_version: int = Field(sa_type=BigInteger, index=True)
    args: str = Field(sa_column=Column(Text, nullable=False))
    tx_hash: str = Field(max_length=66)


class ProtectionEvent(SQLModel, table=True):
    """A change of the governor's protection of loosening: ``SupermajoritySet``,
    ``LooseningVotingPeriodSet`` or ``ProposalGuardianSet`` (the constructor emits all three)."""

    __tablename__ = "protection_event"

    block_number: int = _key()
    log_index: int = _key()
    name: str = Field(max_length=32, index=True)
    args: str = Field(sa_column=Column(Text, nullable=False))
    tx_hash: str = Field(max_length=66)

    def args_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.args)
        return data


class AuditPublication(SQLModel, table=True):
    """An audit report anchored in the AuditRegistry."""

    __tablename__ = "audit_publication"

    run_id: str = Field(max_length=66, primary_key=True)
    model_hash: str = Field(max_length=66, index=True)
    dataset_id: str = Field(max_length=66, index=True)
    report_hash: str = Field(max_length=66)
    policy_version: int = Field(sa_type=BigInteger)
    passed: bool
    auditor: str = Field(max_length=42)
    block_number: int = Field(sa_type=BigInteger, index=True)
    log_index: int = Field(sa_type=BigInteger)
    tx_hash: str = Field(max_length=66)


class RoleChange(SQLModel, table=True):
    """An AuditRegistry role granted or revoked."""

    __tablename__ = "role_change"

    block_number: int = _key()
    log_index: int = _key()
    role: str = Field(max_length=66)
    account: str = Field(max_length=42, index=True)
    sender: str = Field(max_length=42)
    granted: bool
    tx_hash: str = Field(max_length=66)


#: Every index table, children first (the order rows are deleted in).
INDEX_TABLES: tuple[type[SQLModel], ...] = (
    Vote,
    Proposal,
    Delegate,
    VotesCheckpoint,
    PolicyEvent,
    ProtectionEvent,
    AuditPublication,
    RoleChange,
    IndexEvent,
    IndexBlock,
    IndexCursor,
)
