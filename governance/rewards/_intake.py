"""Accepting a gasless claim: checked against the chain, simulated, then queued for the relayer.

Nothing is queued, and so no gas is spent, unless the claim passes :func:`check_claim` and its
``claimBySig`` call succeeds in a simulation. An account has one claim per epoch in the
outbox: a second one is ``reward_already_claimed``.
"""

from __future__ import annotations

from sqlmodel import Session
from web3 import Web3

from governance.chain.rpc import RpcBatch
from governance.relay import outbox
from governance.relay.outbox import RelayItem, RelayStatus
from governance.relay.signed_calls import SignedCall, accept_signed_call
from governance.rewards._chain import has_claimed, read_epoch
from governance.rewards._claims import SignedClaim, check_claim, rewards_domain


def claim_key(epoch: int, account: str) -> str:
    """The outbox key of ``account``'s claim of ``epoch`` (see ``outbox.signed_call_key``)."""
    return f"claim:{epoch}:{account.lower()}"


def queued_claim(
    session: Session, *, chain_id: int, rewards: str, epoch: int, account: str
) -> RelayItem | None:
    """The outbox item of ``account``'s claim of ``epoch``, unless it failed."""
    item = outbox.find(
        session, outbox.signed_call_key(chain_id, rewards, claim_key(epoch, account))
    )
    if item is None or item.status == RelayStatus.FAILED:
        return None
    return item


def accept_claim(
    session: Session,
    w3: Web3,
    rpc: RpcBatch,
    claim: SignedClaim,
    *,
    rewards: str,
    sender: str | None = None,
) -> RelayItem:
    """Check ``claim`` and queue its ``claimBySig`` for the relayer (``sender``, if known,
    is the relayer's address the simulation runs as).

    Raises
    ------
    governance.errors.UnknownEpoch, SignerMismatch, RewardEpochCancelled,
    ChallengeWindowOpen, RewardAlreadyClaimed, ClaimExpired, InvalidRewardProof,
    CallWouldRevert
        The claim cannot succeed; nothing was queued.
    """
    chain_id = int(w3.eth.chain_id)
    epoch = read_epoch(w3, rewards, claim.epoch)
    now = int(w3.eth.get_block("latest")["timestamp"])
    claimed = has_claimed(w3, rewards, claim.epoch, claim.account) or (
        queued_claim(
            session, chain_id=chain_id, rewards=rewards, epoch=claim.epoch, account=claim.account
        )
        is not None
    )
    check_claim(
        claim, domain=rewards_domain(chain_id, rewards), epoch=epoch, now=now, claimed=claimed
    )
    call = SignedCall(
        to=w3.to_checksum_address(rewards),
        data=claim.calldata(),
        signer=claim.account,
        label=f"claim epoch {claim.epoch}",
        key=claim_key(claim.epoch, claim.account),
    )
    item, _ = accept_signed_call(session, rpc, call, chain_id=chain_id, sender=sender)
    return item
