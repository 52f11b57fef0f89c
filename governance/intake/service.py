"""Accepting signed messages into the outbox: verify everything, then commit one row.

Nothing is sent here, so a bad message costs no gas. A message that passes is committed
and returned with its relay record; the relayer takes it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, col, select
from web3 import Web3

from core.errors import FairgovError
from core.types import to_address
from governance.chain.deploy import Deployment
from governance.chain.view import ChainView
from governance.errors import (
    BallotConflict,
    CallAlreadyHeld,
    DelegationConflict,
    TransactionNonceMismatch,
)
from governance.messages.ballots import (
    Ballot,
    Delegation,
    same_vote,
    verify_ballot_signature,
    verify_ballot_state,
    verify_delegation_signature,
    verify_delegation_state,
)
from governance.messages.kinds import BALLOT, DELEGATION, RelayKind, governor_domain, token_domain
from governance.messages.proposals import RawProposal
from governance.messages.signed_proposals import (
    MinableTransaction,
    check_minable,
    inspect_raw_proposal,
    parse_signed,
)
from governance.relay import outbox
from governance.relay.outbox import RelayItem

__all__ = [
    "HeldTransaction",
    "governor_domain",
    "held_transactions",
    "keep_first_with_nonce",
    "next_transaction_nonce",
    "submit_ballot",
    "submit_ballots",
    "submit_delegation",
    "submit_raw_proposal",
    "token_domain",
]


def submit_ballot(
    session: Session, ballot: Ballot, *, deployment: Deployment, chain: ChainView
) -> tuple[RelayItem, bool]:
    """Verify ``ballot`` and queue it for relaying.

    Returns the relay record and whether it is new. On chain a voter votes once: a second
    ballot by the same voter on the same proposal that casts the same vote (even with
    another valid signature) returns the first one's record; one that casts another vote
    raises :class:`~governance.errors.BallotConflict` with the first one's choice.
    """
    verify_ballot_signature(ballot, domain=BALLOT.domain(deployment))
    governor = BALLOT.contract_address(deployment)
    key = outbox.ballot_key(deployment.chain_id, governor, ballot.voter, ballot.proposal_id)
    existing = outbox.live(session, outbox.find(session, key))
    if existing is not None:
        return _same_or_conflict(ballot, existing), False
    pending = outbox.pending_nonces(
        session, kind=BALLOT.kind, contract=governor, signer=ballot.voter, excluding=key
    )
    chain = chain.for_ballots([(ballot.proposal_id, ballot.voter)])
    verify_ballot_state(ballot, chain=chain, pending_nonces=pending)
    item = outbox.ballot_item(ballot, chain_id=deployment.chain_id, governor=governor)
    stored, created = outbox.insert_once(session, item)
    # Another writer may have stored a ballot of this voter meanwhile.
    return (stored if created else _same_or_conflict(ballot, stored)), created


def submit_delegation(
    session: Session, delegation: Delegation, *, deployment: Deployment, chain: ChainView
) -> tuple[RelayItem, bool]:
    """Verify ``delegation`` and queue it for relaying; a duplicate returns the first record,
    another delegation with the same nonce raises :class:`DelegationConflict`."""
    verify_delegation_signature(delegation, domain=DELEGATION.domain(deployment))
    token = DELEGATION.contract_address(deployment)
    key = outbox.delegation_key(deployment.chain_id, token, delegation.delegator, delegation.nonce)
    existing = outbox.live(session, outbox.find(session, key))
    if existing is not None:
        return _same_delegation_or_conflict(delegation, existing), False
    pending = outbox.pending_nonces(
        session,
        kind=DELEGATION.kind,
        contract=token,
        signer=delegation.delegator,
        excluding=key,
    )
    verify_delegation_state(delegation, chain=chain, pending_nonces=pending)
    item = outbox.delegation_item(delegation, chain_id=deployment.chain_id, token=token)
    stored, created = outbox.insert_once(session, item)
    return (stored if created else _same_delegation_or_conflict(delegation, stored)), created


def _same_delegation_or_conflict(delegation: Delegation, existing: RelayItem) -> RelayItem:
    """``existing`` if it delegates as ``delegation`` does; else :class:`DelegationConflict`."""
    first = Delegation.model_validate_json(existing.payload)
    if (first.delegatee, first.expiry) == (delegation.delegatee, delegation.expiry):
        return existing
    raise DelegationConflict(
        delegation.delegator,
        delegation.nonce,
        delegatee=first.delegatee,
        relay_id=existing.id,
    )


def submit_ballots(
    session: Session, ballots: list[Ballot], *, deployment: Deployment, chain: ChainView
) -> list[RelayItem | FairgovError]:
    """Verify and queue many ballots with one database commit.

    Returns, for each ballot in order, its relay record or the error that refused it.
    The chain state of all of them is read up front (:meth:`ChainView.for_ballots`).
    """
    chain = chain.for_ballots([(b.proposal_id, b.voter) for b in ballots])
    domain = BALLOT.domain(deployment)
    governor = BALLOT.contract_address(deployment)
    keys = [
        outbox.ballot_key(deployment.chain_id, governor, b.voter, b.proposal_id) for b in ballots
    ]
    existing = outbox.find_many(session, keys)
    results: list[RelayItem | FairgovError] = []
    new: dict[str, RelayItem] = {}
    pending = outbox.pending_nonces_by_signer(
        session,
        kind=RelayKind.BALLOT,
        contract=governor,
        signers=[b.voter for b in ballots],
        excluding=keys,
    )
    for ballot, key in zip(ballots, keys, strict=True):
        try:
            verify_ballot_signature(ballot, domain=domain)
            known = outbox.live(session, existing.get(key)) or new.get(key)
            if known is not None:
                results.append(_same_or_conflict(ballot, known))
                continue
            verify_ballot_state(ballot, chain=chain, pending_nonces=pending[ballot.voter])
        except FairgovError as exc:
            results.append(exc)
            continue
        pending[ballot.voter] += 1
        item = outbox.ballot_item(ballot, chain_id=deployment.chain_id, governor=governor)
        new[key] = item
        results.append(item)
    if new and not outbox.insert_all(session, list(new.values())):
        # Another writer stored some of these meanwhile: fall back to one by one.
        return [
            r if isinstance(r, FairgovError) else _insert_one(session, ballot, r)
            for ballot, r in zip(ballots, results, strict=True)
        ]
    return results


def _insert_one(session: Session, ballot: Ballot, item: RelayItem) -> RelayItem | FairgovError:
    stored, created = outbox.insert_once(session, _fresh(item))
    try:
        return stored if created else _same_or_conflict(ballot, stored)
    except BallotConflict as exc:
        return exc


def _same_or_conflict(ballot: Ballot, existing: RelayItem) -> RelayItem:
    """``existing`` if it casts the same vote as ``ballot``; else :class:`BallotConflict`."""
    first = Ballot.model_validate_json(existing.payload)
    if same_vote(first, ballot):
        return existing
    raise BallotConflict(
        ballot.proposal_id,
        ballot.voter,
        support=first.support,
        reason=first.reason,
        relay_id=existing.id,
        new_support=ballot.support,
        new_reason=ballot.reason,
    )


def _fresh(item: RelayItem) -> RelayItem:
    return RelayItem.model_validate(item.model_dump(exclude={"id"}))


@dataclass(frozen=True)
class HeldTransaction:
    """A sender-signed transaction fairgov accepted and has not seen mined."""

    nonce: int
    max_cost: int


def held_transactions(
    session: Session, deployment: Deployment, sender: str
) -> list[HeldTransaction]:
    """``sender``'s signed transactions (proposals and guardian cancels) that fairgov accepted
    and has not seen mined: the nonces they hold and what they may cost."""
    statement = select(RelayItem).where(
        RelayItem.kind == RelayKind.RAW_TRANSACTION,
        RelayItem.chain_id == deployment.chain_id,
        RelayItem.signer == sender,
        col(RelayItem.status).in_(outbox.PENDING_STATUSES),
    )
    held = []
    for item in session.exec(statement).all():
        signed = parse_signed(bytes.fromhex(item.payload_dict()["raw_transaction"][2:]))
        held.append(HeldTransaction(signed.nonce, signed.gas * signed.max_fee_per_gas))
    return held


def next_transaction_nonce(session: Session, w3: Web3, deployment: Deployment, sender: str) -> int:
    """The nonce ``sender``'s next transaction must have: the chain's pending nonce, or the
    one after the last of its transactions that fairgov holds."""
    account = to_address(sender)
    pending = int(w3.eth.get_transaction_count(account, "pending"))
    held = [t.nonce + 1 for t in held_transactions(session, deployment, account)]
    return max([pending, *held])


def submit_raw_proposal(
    session: Session, raw_transaction: bytes, *, w3: Web3, deployment: Deployment
) -> tuple[RelayItem, RawProposal]:
    """Check that ``raw_transaction`` is a ``propose`` call to our governor that the chain
    would mine, then queue it.

    The proposer signed and pays for it; the relayer only broadcasts the bytes. Refused
    before anything is stored: the wrong chain, a gas limit below a simulation's, a sender
    who cannot pay the maximum cost, a nonce other than the next free one
    (:func:`~governance.messages.signed_proposals.check_minable`). A second submission of
    the same bytes returns the first record.
    """
    proposal = inspect_raw_proposal(w3, deployment, raw_transaction)
    return queue_signed_call(
        session, raw_transaction, proposal, w3=w3, deployment=deployment
    ), proposal


class QueueableCall(MinableTransaction, Protocol):
    """An inspected signed call to the governor that fairgov may forward."""

    @property
    def tx_hash(self) -> str: ...
    @property
    def proposal_id(self) -> int: ...


def queue_signed_call(
    session: Session,
    raw_transaction: bytes,
    call: QueueableCall,
    *,
    w3: Web3,
    deployment: Deployment,
) -> RelayItem:
    """Queue an inspected, sender-signed governor call for broadcast, once.

    Refused before anything is stored when the chain would not mine it as it is
    (:func:`~governance.messages.signed_proposals.check_minable`, counting what fairgov
    already holds of the sender); a second submission of the same bytes returns the first
    record; of two concurrent transactions with one nonce, only the first is kept.
    """
    key = outbox.raw_transaction_key(deployment.chain_id, call.tx_hash)
    existing = outbox.find(session, key)
    if existing is not None:
        return existing
    twin = _held_twin(session, deployment, call)
    if twin is not None:
        raise CallAlreadyHeld(call.proposal_id, twin.id)
    held = held_transactions(session, deployment, call.sender)
    check_minable(
        w3,
        call,
        held_nonces=[t.nonce for t in held],
        held_cost=sum(t.max_cost for t in held),
    )
    item = outbox.raw_transaction_item(
        raw_transaction,
        chain_id=deployment.chain_id,
        governor=deployment.addresses.governor,
        sender=call.sender,
        tx_hash=call.tx_hash,
        proposal_id=call.proposal_id,
    )
    item.nonce = call.nonce  # the sender's account nonce, shown on the relay record
    stored, created = outbox.insert_once(session, item)
    if created:
        keep_first_with_nonce(session, stored)
    return stored


def _held_twin(session: Session, deployment: Deployment, call: QueueableCall) -> RelayItem | None:
    """A held, not yet mined transaction making the same call (same function) on the same
    proposal. The chain refuses the second only once the first is mined: a duplicate
    proposal or guardian cancel was accepted, then reverted at its signer's expense."""
    selector = bytes.fromhex(call.data.removeprefix("0x"))[:4]
    statement = select(RelayItem).where(
        RelayItem.kind == RelayKind.RAW_TRANSACTION,
        RelayItem.chain_id == deployment.chain_id,
        RelayItem.proposal_id == str(call.proposal_id),
        col(RelayItem.status).in_(outbox.PENDING_STATUSES),
    )
    for item in session.exec(statement).all():
        held = parse_signed(bytes.fromhex(item.payload_dict()["raw_transaction"][2:]))
        if held.data[:4] == selector:
            return item
    return None


def keep_first_with_nonce(session: Session, stored: RelayItem) -> None:
    """Undo ``stored`` if a concurrent submission stored another transaction of the same
    sender and nonce first: only one of them could ever be mined."""
    earlier = session.exec(
        select(RelayItem.id).where(
            RelayItem.kind == RelayKind.RAW_TRANSACTION,
            RelayItem.chain_id == stored.chain_id,
            RelayItem.signer == stored.signer,
            RelayItem.nonce == stored.nonce,
            col(RelayItem.status).in_(outbox.PENDING_STATUSES),
            col(RelayItem.id) < stored.id,
        )
    ).first()
    if earlier is None:
        return
    session.delete(stored)
    session.commit()
    nonce = stored.nonce or 0
    raise TransactionNonceMismatch(
        stored.signer, nonce, nonce + 1, "another transaction that fairgov accepted already uses"
    )
