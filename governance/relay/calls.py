"""The transaction that relays an outbox item: its call, gas limit, fees and signature."""

from __future__ import annotations

import math
from typing import Any, Final

from eth_account.signers.local import LocalAccount

from governance.chain.calldata import encode_call
from governance.chain.node import max_fee_per_gas
from governance.messages.ballots import Ballot, Delegation
from governance.messages.eip712 import split_signature
from governance.messages.kinds import RelayKind
from governance.relay.outbox import RelayAttempt, RelayItem

#: Gas a relayed call may use: castVoteBySig and delegateBySig need about 100k, plus the
#: reason string's storage-free but calldata-priced bytes. Only the gas used is paid.
_BASE_GAS = 200_000
_GAS_PER_CALLDATA_BYTE = 64
#: Replacement fees rise by at least this factor (nodes require 10%).
GAS_BUMP: Final = 1.125
#: What a simulation's sender holds, whatever it holds on chain: more than any gas limit
#: times any fee cap a relayer would sign.
SIMULATED_BALANCE: Final = 2**128


def gas_limit(calldata: str) -> int:
    """The gas limit of a relayed call with this (0x hex) calldata."""
    return _BASE_GAS + _GAS_PER_CALLDATA_BYTE * (len(calldata) - 2) // 2


def simulation(
    call: dict[str, str], *, sender: str, gas: int, base_fee: int, priority: int
) -> list[Any]:
    """``eth_call`` parameters that run ``call`` on the latest block as the relayer's
    transaction will run: from ``sender``, with its gas limit and its fee fields.

    A simulation without fees runs at a gas price of 0, and an EIP-1271 wallet may answer
    otherwise then (``tx.gasprice == 0``): such a wallet passed every check and reverted on
    chain, at the relayer's expense (review). The sender's balance is set high enough for
    the fees in the simulation only, so that a relayer short of ETH still meets the node's
    refusal (and its backoff), not a simulated revert.
    """
    fields = {
        "from": sender,
        "to": call["to"],
        "data": call["data"],
        "gas": hex(gas),
        "maxFeePerGas": hex(max_fee_per_gas(base_fee, priority)),
        "maxPriorityFeePerGas": hex(priority),
    }
    return [fields, "latest", {sender: {"balance": hex(SIMULATED_BALANCE)}}]


def call_for(item: RelayItem, *, governor: str, token: str) -> dict[str, str]:
    """The ``to`` and ``data`` of the transaction that relays a ballot, a delegation or a
    signed call (which carries both, checked and simulated at intake)."""
    payload = item.payload_dict()
    if item.kind == RelayKind.SIGNED_CALL:
        return {"to": payload["to"], "data": payload["data"]}
    if item.kind == RelayKind.BALLOT:
        ballot = Ballot.model_validate(payload)
        signature = ballot.signature_bytes()
        if ballot.extended:
            data = encode_call(
                "castVoteWithReasonAndParamsBySig",
                ("uint256", "uint8", "address", "string", "bytes", "bytes"),
                [
                    ballot.proposal_id,
                    ballot.support,
                    ballot.voter,
                    ballot.reason or "",
                    bytes.fromhex(ballot.params[2:]),
                    signature,
                ],
            )
        else:
            data = encode_call(
                "castVoteBySig",
                ("uint256", "uint8", "address", "bytes"),
                [ballot.proposal_id, ballot.support, ballot.voter, signature],
            )
        return {"to": governor, "data": data}
    delegation = Delegation.model_validate(payload)
    v, r, s = split_signature(delegation.signature_bytes())
    data = encode_call(
        "delegateBySig",
        ("address", "uint256", "uint256", "uint8", "bytes32", "bytes32"),
        [
            delegation.delegatee,
            delegation.nonce,
            delegation.expiry,
            v,
            r.to_bytes(32, "big"),
            s.to_bytes(32, "big"),
        ],
    )
    return {"to": token, "data": data}


def signed_attempt(
    account: LocalAccount,
    item: RelayItem,
    *,
    chain_id: int,
    call: dict[str, str],
    gas: int,
    nonce: int,
    max_fee: int,
    priority: int,
) -> RelayAttempt:
    """Sign the item's transaction from ``account``; the attempt to store before sending."""
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "to": call["to"],
        "value": 0,
        "data": call["data"],
        "gas": gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": priority,
    }
    signed = account.sign_transaction(tx)
    return RelayAttempt(
        item_id=item.id or 0,
        tx_hash=signed.hash.to_0x_hex(),
        raw_transaction=signed.raw_transaction.to_0x_hex(),
        nonce=nonce,
        gas=gas,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=priority,
    )


def bumped_fees(latest: RelayAttempt, *, base_fee: int, min_priority: int) -> tuple[int, int]:
    """(max fee, priority fee) per gas for a replacement of ``latest`` at the same nonce:
    each at least :data:`GAS_BUMP` times the last, and the cap enough for the base fee."""
    priority = max(math.ceil(latest.max_priority_fee_per_gas * GAS_BUMP), min_priority)
    max_fee = max(math.ceil(latest.max_fee_per_gas * GAS_BUMP), 2 * base_fee + priority)
    return max_fee, priority
