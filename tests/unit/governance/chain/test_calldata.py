"""Hot-path calldata equals eth-abi's encoding, and refuses what eth-abi refuses."""

from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import EncodingError
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.chain.calldata import encode_call, selector

_address = st.binary(min_size=20, max_size=20).flatmap(
    lambda raw: st.sampled_from(
        ["0x" + raw.hex(), "0x" + raw.hex().upper(), to_checksum_address(raw)]
    )
)
_uint = st.integers(0, 2**256 - 1)


def _reference(name: str, types: tuple[str, ...], args: list[Any]) -> str:
    return "0x" + (selector(name, types) + abi_encode(list(types), args)).hex()


@settings(max_examples=300, deadline=None)
@given(proposal_id=_uint, voter=_address, block=_uint)
def test_static_arguments_encode_as_eth_abi_does(proposal_id: int, voter: str, block: int):
    for name, types, args in [
        ("hasVoted", ("uint256", "address"), [proposal_id, voter]),
        ("nonces", ("address",), [voter]),
        ("getPastVotes", ("address", "uint256"), [voter, block]),
    ]:
        assert encode_call(name, types, args) == _reference(name, types, args)


def test_other_types_go_to_eth_abi():
    types = ("string", "bytes32[]")
    args = ["a reason", [b"\x01" * 32]]
    assert encode_call("f", types, args) == _reference("f", types, args)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("uint256", -1),
        ("uint256", 2**256),
        ("uint256", True),
        ("address", "0x" + "ab" * 19),
        ("address", "0x" + "zz" * 20),
    ],
)
def test_what_eth_abi_refuses_is_refused(kind: str, value: Any):
    with pytest.raises(EncodingError):
        encode_call("f", (kind,), [value])
