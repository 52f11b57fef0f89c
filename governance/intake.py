"""Accepting signed messages into the outbox: verify everything, then commit one row.

Nothing is sent here, so a bad message costs no gas. A message that passes is committed
and returned with its relay record; the relayer takes it from there.
"""

from __future__ import annotations

from sqlmodel import Session

from governance import outbox
from governance.ballots import (
    Ballot,
    ChainView,
    Delegation,
    Domain,
    verify_ballot_signature,
    verify_ballot_state,
    verify_delegation_signature,
    verify_delegation_state,
)
from governance.deploy import Deployment
from governance.outbox import RelayItem, RelayKind


def governor_domain(deployment: Deployment) -> Domain:
    """The EIP-712 domain of ballots: the governor's name, version "1"."""
    return Domain(
        deployment.config.governor_name, deployment.chain_id, deployment.addresses.governor
    )


def token_domain(deployment: Deployment) -> Domain:
    """The EIP-712 domain of delegations: the token's name, version "1"."""
    return Domain(deployment.config.token_name, deployment.chain_id, deployment.addresses.token)


def submit_ballot(
    session: Session, ballot: Ballot, *, deployment: Deployment, chain: ChainView
) -> tuple[RelayItem, bool]:
    """Verify ``ballot`` and queue it for relaying.

    Returns the relay record and whether it is new. A second ballot by the same voter on
    the same proposal (even with another valid signature) returns the first one's record:
    on chain a voter votes once.
    """
    verify_ballot_signature(ballot, domain=governor_domain(deployment))
    governor = deployment.addresses.governor
    key = outbox.ballot_key(deployment.chain_id, governor, ballot.voter, ballot.proposal_id)
    existing = outbox.find(session, key)
    if existing is not None:
        return existing, False
    pending = outbox.pending_nonces(
        session, kind=RelayKind.BALLOT, contract=governor, signer=ballot.voter
    )
    verify_ballot_state(ballot, chain=chain, pending_nonces=pending)
    item = outbox.ballot_item(ballot, chain_id=deployment.chain_id, governor=governor)
    return outbox.insert_once(session, item)


def submit_delegation(
    session: Session, delegation: Delegation, *, deployment: Deployment, chain: ChainView
) -> tuple[RelayItem, bool]:
    """Verify ``delegation`` and queue it for relaying; a duplicate returns the first record."""
    verify_delegation_signature(delegation, domain=token_domain(deployment))
    token = deployment.addresses.token
    key = outbox.delegation_key(deployment.chain_id, token, delegation.delegator, delegation.nonce)
    existing = outbox.find(session, key)
    if existing is not None:
        return existing, False
    pending = outbox.pending_nonces(
        session, kind=RelayKind.DELEGATION, contract=token, signer=delegation.delegator
    )
    verify_delegation_state(delegation, chain=chain, pending_nonces=pending)
    item = outbox.delegation_item(delegation, chain_id=deployment.chain_id, token=token)
    return outbox.insert_once(session, item)
