"""A guardian's cancel call: decoded exactly, and refused when it is not one."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from web3 import Web3

from governance.errors import NotACancelCall
from governance.guardian import CANCEL_SELECTOR, CancelCall, _decode_cancel
from governance.messages.proposals import proposal_id_of

TARGET = Web3.to_checksum_address("0x" + "44" * 20)
DESCRIPTION = "Raise the bound#proposer=0x" + "11" * 20


def cancel_data(targets: list[str], values: list[int], calldatas: list[bytes]) -> bytes:
    hashed = Web3.keccak(text=DESCRIPTION)
    types = ["address[]", "uint256[]", "bytes[]", "bytes32"]
    return CANCEL_SELECTOR + abi_encode(types, [targets, values, calldatas, hashed])


def test_the_cancelled_proposal_id_is_the_governors_hash_of_the_calls() -> None:
    call = _decode_cancel(cancel_data([TARGET], [0], [b"\x12\x34"]), 0)
    assert call == CancelCall(
        targets=(TARGET,),
        values=(0,),
        calldatas=("0x1234",),
        description_hash=Web3.keccak(text=DESCRIPTION).to_0x_hex(),
    )
    assert call.proposal_id == proposal_id_of([TARGET], [0], [b"\x12\x34"], DESCRIPTION)


@pytest.mark.parametrize(
    ("data", "value", "problem"),
    [
        (b"\xde\xad\xbe\xef", 0, "it calls function 0xdeadbeef, not cancel"),
        (cancel_data([TARGET], [0], [b""]), 1, "it sends 1 wei, and cancel takes none"),
        (CANCEL_SELECTOR + b"\x00" * 7, 0, "its arguments do not decode"),
        (cancel_data([TARGET, TARGET], [0], [b""]), 0, "different numbers of targets"),
    ],
)
def test_anything_else_is_not_a_cancel_call(data: bytes, value: int, problem: str) -> None:
    with pytest.raises(NotACancelCall, match=problem) as caught:
        _decode_cancel(data, value)
    assert caught.value.code == "not_a_cancel_call"
