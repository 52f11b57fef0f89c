"""Accepting a verified signed call into the outbox: simulated first, so bad input spends no gas.

A signed call is a contract call whose authority is a signature inside its calldata (a
provider's EIP-712 Claim for ``claimBySig``; a provider's signed withdrawal). The caller
verifies that signature (it knows the typed data) and builds the calldata; this module runs
the call once on the node (``eth_call``, with the fees the relayer will pay) and queues it
only if it would succeed. The relayer then sends it from its own key like a ballot
(:func:`governance.relay.calls.call_for`). A contract wallet whose relayed call reverted on
chain anyway gets no more relayed calls (:func:`barred_wallets`): it sends its own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, select

from core.types import to_address
from governance.chain.reverts import DecodedRevert, decode_revert
from governance.chain.rpc import RpcBatch
from governance.errors import CallWouldRevert, ContractWalletMustSend
from governance.messages.kinds import RelayKind
from governance.relay import outbox
from governance.relay.calls import gas_limit, simulation
from governance.relay.config import RelayerConfig
from governance.relay.outbox import RelayItem, RelayStatus
from governance.relay.reconcile import requeue

#: Who a simulation runs as when the relayer's address is not given.
_ANYONE: Final = "0x0000000000000000000000000000000000000001"


@dataclass(frozen=True)
class SignedCall:
    """A call to relay. Build it only after checking the signature it carries is
    ``signer``'s; ``key`` identifies it among its kind (see ``outbox.signed_call_key``)."""

    to: str
    data: str
    signer: str
    label: str
    key: str


def reverted_on_chain(session: Session, signers: Collection[str]) -> dict[str, RelayItem]:
    """The signed calls of ``signers`` that the relayer sent and that reverted on chain (a
    failed item with a block: failed simulations and node refusals have none), by lower-case
    signer."""
    forms = {form for signer in signers for form in (signer.lower(), to_address(signer))}
    if not forms:
        return {}
    statement = select(RelayItem).where(
        RelayItem.kind == RelayKind.SIGNED_CALL,
        RelayItem.status == RelayStatus.FAILED,
        col(RelayItem.block_number).is_not(None),
        col(RelayItem.signer).in_(sorted(forms)),
    )
    return {item.signer.lower(): item for item in session.exec(statement).all()}


def barred_wallets(
    session: Session, rpc: RpcBatch, signers: Collection[str]
) -> dict[str, ContractWalletMustSend]:
    """The refusal of each of ``signers`` (by lower-case address) that is a contract (has
    code) and had a relayed signed call revert on chain.

    A simulation is never exact: an EIP-1271 wallet decides in its own code, and may decide
    otherwise in the mined transaction than in any simulation (a gas price, a block number,
    a flag its owner flips). A key's signature cannot: it verifies or not. So a contract
    wallet whose relayed call reverted once is left to send its own transactions, and a
    key's failed ballot, delegation or call still frees its place in the outbox.
    """
    reverted = reverted_on_chain(session, signers)
    codes = rpc.call([("eth_getCode", [to_address(s), "latest"]) for s in reverted])
    return {
        signer: ContractWalletMustSend(item.signer, item.tx_hash)
        for (signer, item), code in zip(reverted.items(), codes, strict=True)
        if code.ok and code.result not in (None, "0x", "")
    }


def simulate(
    rpc: RpcBatch,
    to: str,
    data: str,
    *,
    sender: str | None = None,
    priority: int = RelayerConfig.priority_fee_wei,
) -> DecodedRevert | None:
    """Run the call on the latest block as the relayer will send it (its fee fields, from
    ``sender``); the revert it would meet, or None when it succeeds."""
    block = rpc.one("eth_getBlockByNumber", ["latest", False]).result or {}
    params = simulation(
        {"to": to, "data": data},
        sender=sender or _ANYONE,
        gas=gas_limit(data),
        base_fee=int(block.get("baseFeePerGas", "0x0"), 16),
        priority=priority,
    )
    reply = rpc.one("eth_call", params)
    if reply.ok:
        return None
    return decode_revert(reply.error_data)


def accept_signed_call(
    session: Session,
    rpc: RpcBatch,
    call: SignedCall,
    *,
    chain_id: int,
    sender: str | None = None,
) -> tuple[RelayItem, bool]:
    """Queue ``call`` unless it would revert; the stored item and whether it is new.

    The same call again returns the first item (its dedupe key); a failed one is queued
    again with the new calldata once that simulates.

    Raises
    ------
    ContractWalletMustSend
        The signer is a contract wallet and one of its relayed calls reverted on chain
        (:func:`barred_wallets`); nothing was stored.
    CallWouldRevert
        The simulation reverted (``details["revert"]`` holds the decoded error's code);
        nothing was stored.
    """
    existing = queued_call(session, call, chain_id=chain_id)
    if existing is not None:
        return existing, False
    vet_signed_call(session, rpc, call, sender=sender)
    return queue_signed_call(session, call, chain_id=chain_id)


def queued_call(session: Session, call: SignedCall, *, chain_id: int) -> RelayItem | None:
    """The item of this very call if it is already queued, sent or confirmed."""
    existing = outbox.find(session, outbox.signed_call_key(chain_id, call.to, call.key))
    return None if existing is None or existing.status == RelayStatus.FAILED else existing


def vet_signed_call(
    session: Session, rpc: RpcBatch, call: SignedCall, *, sender: str | None = None
) -> None:
    """Refuse ``call`` if its signer may not have calls relayed or it would revert now: the
    node calls of :func:`accept_signed_call`, which a caller holding a lock makes first.

    Raises
    ------
    ContractWalletMustSend, CallWouldRevert
    """
    barred = barred_wallets(session, rpc, [call.signer]).get(call.signer.lower())
    if barred is not None:
        raise barred
    reverted = simulate(rpc, call.to, call.data, sender=sender)
    if reverted is not None:
        error = CallWouldRevert(to=call.to, reason=reverted.message())
        error.details["revert"] = reverted.code
        raise error


def queue_signed_call(
    session: Session, call: SignedCall, *, chain_id: int
) -> tuple[RelayItem, bool]:
    """Store a vetted ``call`` (:func:`vet_signed_call`) in the outbox: the item and whether
    it is new. A failed item of the same call is queued again with the new calldata."""
    existing = outbox.find(session, outbox.signed_call_key(chain_id, call.to, call.key))
    if existing is not None and existing.status != RelayStatus.FAILED:
        return existing, False
    if existing is not None:
        existing.payload = outbox.signed_call_payload(to=call.to, data=call.data, label=call.label)
        existing.error_code = existing.error = None
        requeue(session, existing)
        session.commit()
        session.refresh(existing)
        return existing, False
    item = outbox.signed_call_item(
        chain_id=chain_id,
        to=call.to,
        data=call.data,
        signer=call.signer,
        label=call.label,
        key=call.key,
    )
    return outbox.insert_once(session, item)
