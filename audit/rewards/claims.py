"""What a provider sees: their rewards and their status, the statement, and a claim's inputs.

Every statement served is first checked against the chain (:func:`verified_statement`): its
sha256 must be the epoch's anchored ``statementHash`` and it must recompute, so a proof
is only ever built from the statement the chain anchors.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select
from web3 import Web3

from audit.rewards.db_models import (
    RewardAllocationRecord,
    RewardStatementRecord,
    StatementStatus,
)
from core.types import Address, Hash32, to_address
from governance.errors import NotInStatement, StatementNotHeld, UnknownEpoch
from governance.rewards import (
    RewardStatement,
    has_claimed,
    parse_statement,
    queued_claim,
    read_epoch,
    reward_proof,
    verify_statement,
)


class RewardStatus(StrEnum):
    """Where a provider's reward of one epoch is."""

    PENDING_WINDOW = "pending_window"
    """Posted; the guardian or the DAO may still cancel it."""
    CLAIMABLE = "claimable"
    CLAIMING = "claiming"
    """A gasless claim is accepted and on its way to the chain."""
    CLAIMED = "claimed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ProviderReward:
    """One epoch's reward of a provider."""

    epoch: int
    run_id: str
    model_name: str
    amount: int
    status: RewardStatus
    challenge_ends: int
    statement_hash: str


@dataclass(frozen=True)
class ClaimInputs:
    """What a claim needs: the amount and the proof under the epoch's root."""

    epoch: int
    account: Address
    amount: int
    proof: tuple[Hash32, ...]
    root: str


def _now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def provider_rewards(
    session: Session, w3: Web3, rewards: str, account: str
) -> list[ProviderReward]:
    """Every posted epoch that pays ``account``, newest first, with its status on chain."""
    rows = session.exec(
        select(RewardStatementRecord, RewardAllocationRecord)
        .join(
            RewardAllocationRecord,
            col(RewardAllocationRecord.statement_id) == col(RewardStatementRecord.id),
        )
        .where(
            RewardStatementRecord.rewards_contract == rewards.lower(),
            RewardStatementRecord.status == StatementStatus.POSTED,
            RewardAllocationRecord.provider == account.lower(),
        )
        .order_by(col(RewardStatementRecord.epoch).desc())
    ).all()
    now = _now(w3) if rows else 0
    chain_id = int(w3.eth.chain_id) if rows else 0
    found = []
    for statement, allocation in rows:
        number = statement.epoch or 0
        state = read_epoch(w3, rewards, number)
        if state.cancelled:
            status = RewardStatus.CANCELLED
        elif has_claimed(w3, rewards, number, account):
            status = RewardStatus.CLAIMED
        elif now < state.challenge_ends:
            status = RewardStatus.PENDING_WINDOW
        elif queued_claim(
            session, chain_id=chain_id, rewards=rewards, epoch=number, account=account
        ):
            status = RewardStatus.CLAIMING
        else:
            status = RewardStatus.CLAIMABLE
        found.append(
            ProviderReward(
                epoch=number,
                run_id=statement.run_id,
                model_name=statement.model_name,
                amount=int(allocation.amount),
                status=status,
                challenge_ends=state.challenge_ends,
                statement_hash=statement.statement_hash,
            )
        )
    return found


def statement_record(session: Session, rewards: str, epoch: int) -> RewardStatementRecord:
    """The stored statement posted as ``epoch``; :class:`UnknownEpoch` when there is none."""
    row = session.exec(
        select(RewardStatementRecord).where(
            RewardStatementRecord.rewards_contract == rewards.lower(),
            RewardStatementRecord.epoch == epoch,
        )
    ).first()
    if row is None:
        raise UnknownEpoch(str(epoch))
    return row


def verified_statement(session: Session, w3: Web3, rewards: str, epoch: int) -> RewardStatement:
    """The statement of ``epoch``, checked against the chain's anchor and recomputed.

    Raises
    ------
    UnknownEpoch
        No root was posted for ``epoch``.
    StatementNotHeld
        One was, but this service holds no statement for it.
    StatementHashMismatch, StatementNotTheEpochs, StatementDoesNotRecompute
    """
    state = read_epoch(w3, rewards, epoch)  # UnknownEpoch when it was never posted
    try:
        row = statement_record(session, rewards, epoch)
    except UnknownEpoch:
        raise StatementNotHeld(epoch) from None
    statement = parse_statement(row.statement_json.encode())
    verify_statement(statement, state, chain_id=w3.eth.chain_id, rewards=rewards)
    return statement


def claim_inputs(session: Session, w3: Web3, rewards: str, epoch: int, account: str) -> ClaimInputs:
    """``account``'s amount and proof in ``epoch``, from the verified statement."""
    statement = verified_statement(session, w3, rewards, epoch)
    allocation = statement.allocation_of(account)
    proof = reward_proof(statement.pairs(), account)
    if allocation is None or proof is None:
        raise NotInStatement(epoch=epoch, account=account)
    return ClaimInputs(
        epoch=epoch,
        account=to_address(account),
        amount=allocation.amount,
        proof=proof,
        root=statement.root,
    )
