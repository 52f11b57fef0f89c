"""EIP-712 ballots and delegations, checked against eth-account's own encoder and signer."""

import pytest
from eth_abi.exceptions import ValueOutOfBounds
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.errors import (
    InvalidSignature,
    InvalidSupport,
    SignatureMalleable,
    SignerMismatch,
    WrongChain,
    WrongVerifyingContract,
)
from governance.messages.ballots import (
    SECP256K1_N,
    Ballot,
    Domain,
    ballot_typed_data,
    checksum_address,
    delegation_typed_data,
    digest,
    recover_signer,
    verify_ballot_signature,
    verify_delegation_signature,
)
from tests.voters import signed_ballot, signed_delegation

KEY = "0x" + "42" * 32
VOTER = Account.from_key(KEY).address
GOVERNOR = Domain("FairnessGovernor", 31337, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
TOKEN = Domain("Fairgov Governance Token", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
PROPOSAL = 2**255 + 12345  # proposal ids are full uint256 hashes


def _wallet_digest(typed: dict) -> bytes:
    return _hash_eip191_message(encode_typed_data(full_message=typed))


@pytest.mark.parametrize("reason", [None, "bias against group B is too high"])
def test_ballot_digest_equals_what_wallets_sign(reason: str | None):
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL, support=2, nonce=7, reason=reason)
    typed = ballot_typed_data(
        GOVERNOR, proposal_id=PROPOSAL, support=2, voter=VOTER, nonce=7, reason=reason
    )
    assert typed["primaryType"] == ("ExtendedBallot" if reason else "Ballot")
    assert digest(GOVERNOR, ballot.struct_hash()) == _wallet_digest(typed)
    verify_ballot_signature(ballot, domain=GOVERNOR)


def test_delegation_digest_equals_what_wallets_sign():
    delegatee = "0x" + "ab" * 20
    delegation = signed_delegation(TOKEN, KEY, delegatee, nonce=3, expiry=1_900_000_000)
    typed = delegation_typed_data(TOKEN, delegatee=delegatee, nonce=3, expiry=1_900_000_000)
    assert digest(TOKEN, delegation.struct_hash()) == _wallet_digest(typed)
    verify_delegation_signature(delegation, domain=TOKEN)


def test_typed_data_carries_big_ids_as_strings():
    typed = ballot_typed_data(GOVERNOR, proposal_id=PROPOSAL, support=1, voter=VOTER, nonce=0)
    assert typed["message"]["proposalId"] == str(PROPOSAL)
    assert typed["domain"] == {
        "name": "FairnessGovernor",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": GOVERNOR.verifying_contract,
    }


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


def test_a_high_s_twin_is_refused():
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL)
    raw = ballot.signature_bytes()
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    with pytest.raises(SignatureMalleable) as info:
        recover_signer(digest(GOVERNOR, ballot.struct_hash()), twin)
    assert info.value.code == "signature_malleable"


def test_out_of_range_v_is_invalid():
    ballot = signed_ballot(GOVERNOR, KEY, PROPOSAL)
    bad = ballot.signature_bytes()[:64] + bytes([5])
    with pytest.raises(InvalidSignature):
        recover_signer(digest(GOVERNOR, ballot.struct_hash()), bad)


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


@settings(max_examples=300, deadline=None)
@given(
    proposal_id=st.integers(0, 2**256 - 1),
    support=st.integers(0, 255),
    nonce=st.integers(0, 2**256 - 1),
    voter=st.binary(min_size=20, max_size=20),
)
def test_the_hand_encoded_ballot_hash_equals_eth_account(
    proposal_id: int, support: int, nonce: int, voter: bytes
):
    """The ballot's struct hash is encoded by hand (one static word per field); the digest
    must stay what eth-account's EIP-712 encoder gives for every field value."""
    address = to_checksum_address(voter)
    typed = ballot_typed_data(
        GOVERNOR, proposal_id=proposal_id, support=support, voter=address, nonce=nonce
    )
    ballot = Ballot(
        proposal_id=proposal_id,
        support=support,
        voter=address,
        nonce=nonce,
        signature="0x" + "00" * 65,
    )
    assert digest(GOVERNOR, ballot.struct_hash()) == _wallet_digest(typed)


def test_an_out_of_range_support_cannot_be_hashed():
    ballot = Ballot(proposal_id=1, support=256, voter=VOTER, nonce=0, signature="0x" + "00" * 65)
    with pytest.raises(ValueOutOfBounds):
        ballot.struct_hash()


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(min_size=20, max_size=20), upper=st.booleans())
def test_checksum_address_is_eip55(raw: bytes, upper: bool):
    address = "0x" + (raw.hex().upper() if upper else raw.hex())
    assert checksum_address(address) == to_checksum_address(raw)
