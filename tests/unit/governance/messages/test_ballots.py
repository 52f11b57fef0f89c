"""Signed ballots and delegations: their models and the checks of their signatures."""

import pytest
from eth_abi.exceptions import ValueOutOfBounds
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.errors import (
    InvalidSignature,
    InvalidSupport,
    SignerMismatch,
    WrongChain,
    WrongVerifyingContract,
)
from governance.messages.ballots import Ballot, Delegation, verify_ballot_signature
from governance.messages.eip712 import Domain
from tests.voters import signed_ballot

KEY = "0x" + "42" * 32
VOTER = Account.from_key(KEY).address
GOVERNOR = Domain("FairnessGovernor", 31337, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
PROPOSAL = 2**255 + 12345  # proposal ids are full uint256 hashes


def test_a_ballot_signed_by_someone_else_is_a_signer_mismatch():
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL)
    other = ballot.model_copy(update={"voter": "0x" + "11" * 20})
    with pytest.raises(SignerMismatch) as info:
        verify_ballot_signature(other, domain=GOVERNOR)
    assert info.value.code == "signer_mismatch"
    assert info.value.details["recovered"] != other.voter


def test_a_byte_flipped_signature_is_refused():
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL)
    raw = bytearray(ballot.signature_bytes())
    raw[10] ^= 0x01
    flipped = ballot.model_copy(update={"signature": "0x" + raw.hex()})
    with pytest.raises((SignerMismatch, InvalidSignature)):
        verify_ballot_signature(flipped, domain=GOVERNOR)


@pytest.mark.parametrize("support", [3, 255, -1])
def test_support_must_be_against_for_or_abstain(support: int):
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL).model_copy(update={"support": support})
    with pytest.raises(InvalidSupport):
        verify_ballot_signature(ballot, domain=GOVERNOR)


def test_a_ballot_for_another_chain_is_refused_by_its_domain():
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL).model_copy(update={"chain_id": 1})
    with pytest.raises(WrongChain, match="chain 1"):
        verify_ballot_signature(ballot, domain=GOVERNOR)


def test_a_ballot_for_another_contract_is_refused_by_its_domain():
    other = "0x" + "77" * 20
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL).model_copy(update={"verifying_contract": other})
    with pytest.raises(WrongVerifyingContract):
        verify_ballot_signature(ballot, domain=GOVERNOR)


def test_a_ballot_signed_for_another_domain_does_not_verify():
    elsewhere = Domain("FairnessGovernor", 1, GOVERNOR.verifying_contract)
    ballot = signed_ballot(elsewhere, KEY, PROPOSAL)
    with pytest.raises(SignerMismatch):
        verify_ballot_signature(ballot, domain=GOVERNOR)


def test_malformed_signatures_fail_validation():
    with pytest.raises(ValueError, match="signature"):
        Ballot(proposal_id=1, support=1, voter=VOTER, nonce=0, signature="0x1234")


def test_an_out_of_range_support_cannot_be_hashed():
    ballot = Ballot(proposal_id=1, support=256, voter=VOTER, nonce=0, signature="0x" + "00" * 65)
    with pytest.raises(ValueOutOfBounds):
        ballot.struct_hash()


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(min_size=20, max_size=20), upper=st.booleans())
def test_addresses_in_messages_are_eip55_whatever_case_they_arrive_in(raw: bytes, upper: bool):
    address = "0x" + (raw.hex().upper() if upper else raw.hex())
    expected = to_checksum_address(raw)
    ballot = Ballot(proposal_id=1, support=1, voter=address, nonce=0, signature="0x" + "00" * 65)
    delegation = Delegation(
        delegator=address, delegatee=address, nonce=0, expiry=0, signature="0x" + "00" * 65
    )
    assert ballot.voter == delegation.delegator == delegation.delegatee == expected
