"""EIP-712 encoding of ballots and delegations, checked against eth-account's own encoder."""

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.errors import InvalidSignature, SignatureMalleable
from governance.messages.ballots import (
    Ballot,
    verify_ballot_signature,
    verify_delegation_signature,
)
from governance.messages.eip712 import (
    SECP256K1_N,
    Domain,
    ballot_typed_data,
    delegation_typed_data,
    digest,
    recover_signer,
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
