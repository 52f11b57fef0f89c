"""Accepting a gasless claim: checked against the chain, simulated, then queued for the relayer.

Nothing is queued, and so no gas is spent, unless the claim passes :func:`check_claim` and its
``claimBySig`` call succeeds in a simulation. A contract account's signature is checked with
its EIP-1271 ``isValidSignature`` by ``eth_call``, as the contract's SignatureChecker does. An
account has one claim per epoch in the outbox: a second one is ``reward_already_claimed``.
"""

from __future__ import annotations

from typing import Final

from eth_typing import HexStr
from sqlmodel import Session
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3Exception
from web3.types import TxParams

from governance.chain.calldata import encode_call
from governance.chain.rpc import RpcBatch
from governance.messages.eip712 import Domain
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


#: What EIP-1271 ``isValidSignature(bytes32,bytes)`` returns for a signature it accepts (its
#: selector).
_ERC1271_MAGIC: Final = bytes.fromhex("1626ba7e")


def wallet_accepts_claim(w3: Web3, claim: SignedClaim, domain: Domain) -> bool | None:
    """None when ``claim.account`` has no code (a key must have signed); else whether the
    contract's EIP-1271 ``isValidSignature`` accepts the claim's signature, asked by
    ``eth_call`` (as the contract's SignatureChecker will)."""
    if not w3.eth.get_code(w3.to_checksum_address(claim.account)):
        return None
    data = encode_call(
        "isValidSignature",
        ("bytes32", "bytes"),
        [claim.digest(domain), bytes.fromhex(claim.signature[2:])],
    )
    try:
        call: TxParams = {"to": w3.to_checksum_address(claim.account), "data": HexStr(data)}
        answer = bytes(w3.eth.call(call))
    except (ContractLogicError, Web3Exception):
        return False
    return len(answer) >= 32 and answer[:4] == _ERC1271_MAGIC and not any(answer[4:32])


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
    ChallengeWindowOpen, RewardAlreadyClaimed, ClaimExpired, ClaimDeadlineTooSoon,
    InvalidRewardProof, WalletRefusedClaim, CallWouldRevert
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
    domain = rewards_domain(chain_id, rewards)
    check_claim(
        claim,
        domain=domain,
        epoch=epoch,
        now=now,
        claimed=claimed,
        wallet_accepts=wallet_accepts_claim(w3, claim, domain),
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
