"""Accepting a verified signed call into the outbox: simulated first, so bad input spends no gas.

A signed call is a contract call whose authority is a signature inside its calldata (a
provider's EIP-712 Claim for ``claimBySig``; a provider's signed withdrawal). The caller
verifies that signature (it knows the typed data) and builds the calldata; this module runs
the call once on the node (``eth_call``) and queues it only if it would succeed. The relayer
then sends it from its own key like a ballot (:func:`governance.relay.calls.call_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlmodel import Session

from governance.chain.reverts import DecodedRevert, decode_revert
from governance.chain.rpc import RpcBatch
from governance.errors import CallWouldRevert
from governance.relay import outbox
from governance.relay.calls import gas_limit
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


def simulate(
    rpc: RpcBatch, to: str, data: str, *, sender: str | None = None
) -> DecodedRevert | None:
    """Run the call on the latest block; the revert it would meet, or None when it succeeds."""
    call = {"from": sender or _ANYONE, "to": to, "data": data, "gas": hex(gas_limit(data))}
    reply = rpc.one("eth_call", [call, "latest"])
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
    CallWouldRevert
        The simulation reverted (``details["revert"]`` holds the decoded error's code);
        nothing was stored.
    """
    existing = outbox.find(session, outbox.signed_call_key(chain_id, call.to, call.key))
    if existing is not None and existing.status != RelayStatus.FAILED:
        return existing, False
    reverted = simulate(rpc, call.to, call.data, sender=sender)
    if reverted is not None:
        error = CallWouldRevert(to=call.to, reason=reverted.message())
        error.details["revert"] = reverted.code
        raise error
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
