"""EIP-712 ballots and delegations signed off chain and relayed by someone else."""

import pytest
from brownie import chain
from dao import TOKEN, ZERO_ADDRESS, Vote
from eth_account import Account
from eth_utils import keccak
from reverts import assert_custom_error
from signing import (
    Signer,
    delegation_message,
    flip_byte,
    sign_ballot,
    sign_delegation,
    sign_extended_ballot,
)

VOTES = 30_000 * TOKEN
FAR_FUTURE = 2**64


@pytest.fixture
def voter(token, holders, outsider):
    """A wallet that never sends a transaction: it got tokens and delegated by signature."""
    signer = Signer.named("voter")
    token.transfer(signer.address, VOTES, {"from": holders[0]})
    v, r, s = sign_delegation(signer, token, signer.address, nonce=0, expiry=FAR_FUTURE)
    token.delegateBySig(signer.address, 0, FAR_FUTURE, v, r, s, {"from": outsider})
    return signer


@pytest.fixture
def proposal(voter, lifecycle, token, holders):
    proposal = lifecycle.propose([(holders[0].address, "0x")], "Signed votes")
    lifecycle.start_voting(proposal)
    return proposal


def test_the_domains_and_types_are_what_wallets_sign(governor, token):
    for contract, name in [(governor, "FairnessGovernor"), (token, "Fairgov")]:
        fields, *domain, salt, extensions = contract.eip712Domain()
        assert (fields, *domain) == ("0x0f", name, "1", chain.id, contract.address)
        assert (salt, list(extensions)) == ("0x" + "00" * 32, [])
    assert (
        governor.BALLOT_TYPEHASH()
        == "0x"
        + keccak(text="Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)").hex()
    )
    assert (
        governor.EXTENDED_BALLOT_TYPEHASH()
        == "0x"
        + keccak(
            text="ExtendedBallot(uint256 proposalId,uint8 support,address voter,uint256 nonce,"
            "string reason,bytes params)"
        ).hex()
    )


def test_a_signed_ballot_counts_for_the_signer(governor, voter, proposal, outsider):
    signature = sign_ballot(voter, governor, proposal.id, Vote.FOR, nonce=0)

    tx = governor.castVoteBySig(proposal.id, Vote.FOR, voter.address, signature, {"from": outsider})

    cast = tx.events["VoteCast"]
    assert (cast["voter"], cast["support"], cast["weight"]) == (voter.address, Vote.FOR, VOTES)
    assert governor.hasVoted(proposal.id, voter.address)
    assert not governor.hasVoted(proposal.id, outsider)
    assert governor.nonces(voter.address) == 1


def test_a_ballot_counts_once(governor, voter, proposal, outsider):
    signature = sign_ballot(voter, governor, proposal.id, Vote.FOR, nonce=0)
    governor.castVoteBySig(proposal.id, Vote.FOR, voter.address, signature, {"from": outsider})

    assert_custom_error(
        lambda: governor.castVoteBySig(
            proposal.id, Vote.FOR, voter.address, signature, {"from": outsider}
        ),
        "GovernorInvalidSignature(address)",
        voter.address,
    )
    second = sign_ballot(voter, governor, proposal.id, Vote.AGAINST, nonce=1)
    assert_custom_error(
        lambda: governor.castVoteBySig(
            proposal.id, Vote.AGAINST, voter.address, second, {"from": outsider}
        ),
        "GovernorAlreadyCastVote(address)",
        voter.address,
    )
    assert governor.proposalVotes(proposal.id)[Vote.FOR] == VOTES


TAMPERED_BALLOTS = {
    "flipped r": lambda sign: (flip_byte(sign(), 3), Vote.FOR),
    "flipped s": lambda sign: (flip_byte(sign(), 40), Vote.FOR),
    "flipped v": lambda sign: (flip_byte(sign(), 64), Vote.FOR),
    "wrong nonce": lambda sign: (sign(nonce=1), Vote.FOR),
    "other support": lambda sign: (sign(), Vote.AGAINST),
    "other chain": lambda sign: (sign(chain_id=1), Vote.FOR),
    "other signer": lambda sign: (sign(signer=Signer.named("impostor")), Vote.FOR),
}


@pytest.mark.parametrize("tampering", TAMPERED_BALLOTS)
def test_a_tampered_ballot_is_refused(governor, voter, proposal, outsider, tampering):
    def sign(*, signer=voter, nonce=0, chain_id=None):
        return sign_ballot(
            signer,
            governor,
            proposal.id,
            Vote.FOR,
            nonce=nonce,
            voter=voter.address,
            chain_id=chain_id,
        )

    signature, support = TAMPERED_BALLOTS[tampering](sign)

    assert_custom_error(
        lambda: governor.castVoteBySig(
            proposal.id, support, voter.address, signature, {"from": outsider}
        ),
        "GovernorInvalidSignature(address)",
        voter.address,
    )
    assert not governor.hasVoted(proposal.id, voter.address)
    assert governor.nonces(voter.address) == 0


def test_a_signed_ballot_carries_its_reason(governor, voter, proposal, outsider):
    reason = "The loans data has no consent record"
    signature = sign_extended_ballot(
        voter, governor, proposal.id, Vote.AGAINST, nonce=0, reason=reason
    )

    assert_custom_error(
        lambda: governor.castVoteWithReasonAndParamsBySig(
            proposal.id,
            Vote.AGAINST,
            voter.address,
            "Looks fine",
            b"",
            signature,
            {"from": outsider},
        ),
        "GovernorInvalidSignature(address)",
        voter.address,
    )
    tx = governor.castVoteWithReasonAndParamsBySig(
        proposal.id, Vote.AGAINST, voter.address, reason, b"", signature, {"from": outsider}
    )

    cast = tx.events["VoteCast"]
    assert (cast["voter"], cast["support"], cast["weight"]) == (voter.address, Vote.AGAINST, VOTES)
    assert cast["reason"] == reason


# ---------------------------------------------------------------- delegation by signature


def test_a_signed_delegation_moves_the_signers_votes(token, holders, outsider):
    signer = Signer.named("delegator")
    token.transfer(signer.address, VOTES, {"from": holders[0]})
    v, r, s = sign_delegation(signer, token, holders[1].address, nonce=0, expiry=FAR_FUTURE)

    tx = token.delegateBySig(holders[1], 0, FAR_FUTURE, v, r, s, {"from": outsider})

    assert tx.events["DelegateChanged"]["delegator"] == signer.address
    assert token.delegates(signer.address) == holders[1]
    assert token.getVotes(holders[1]) == 350_000 * TOKEN + VOTES
    assert token.nonces(signer.address) == 1
    assert token.delegates(outsider) == ZERO_ADDRESS


def test_an_expired_delegation_is_refused(token, outsider):
    signer = Signer.named("delegator")
    expiry = chain[-1].timestamp - 1
    v, r, s = sign_delegation(signer, token, signer.address, nonce=0, expiry=expiry)

    assert_custom_error(
        lambda: token.delegateBySig(signer.address, 0, expiry, v, r, s, {"from": outsider}),
        "VotesExpiredSignature(uint256)",
        expiry,
    )
    assert token.delegates(signer.address) == ZERO_ADDRESS


def test_a_delegation_is_used_once(token, holders, outsider):
    signer = Signer.named("delegator")
    v, r, s = sign_delegation(signer, token, holders[1].address, nonce=0, expiry=FAR_FUTURE)
    token.delegateBySig(holders[1], 0, FAR_FUTURE, v, r, s, {"from": outsider})

    assert_custom_error(
        lambda: token.delegateBySig(holders[1], 0, FAR_FUTURE, v, r, s, {"from": outsider}),
        "InvalidAccountNonce(address,uint256)",
        signer.address,
        1,
    )
    assert token.delegates(signer.address) == holders[1]


def test_a_delegation_replayed_with_another_delegatee_delegates_for_a_stranger(
    token, holders, outsider
):
    """Why the relayer must check the recovered signer: the chain accepts this silently."""
    signer = Signer.named("delegator")
    token.transfer(signer.address, VOTES, {"from": holders[0]})
    delegatee_votes = token.getVotes(holders[1])
    v, r, s = sign_delegation(signer, token, holders[1].address, nonce=0, expiry=FAR_FUTURE)
    stranger = Account.recover_message(
        delegation_message(token, outsider.address, nonce=0, expiry=FAR_FUTURE),
        vrs=(v, r, s),
    )

    tx = token.delegateBySig(outsider, 0, FAR_FUTURE, v, r, s, {"from": outsider})

    assert stranger not in (signer.address, outsider.address)
    assert tx.events["DelegateChanged"]["delegator"] == stranger
    assert token.delegates(stranger) == outsider
    assert token.nonces(stranger) == 1
    assert token.delegates(signer.address) == ZERO_ADDRESS
    assert token.nonces(signer.address) == 0
    assert token.getVotes(holders[1]) == delegatee_votes
    assert token.getVotes(outsider) == 0
