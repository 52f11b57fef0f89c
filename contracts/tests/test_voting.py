"""Who may vote, with what weight, and how quorum and late quorum decide the outcome."""

import pytest
from brownie import chain
from dao import (
    QUORUM,
    TOKEN,
    VOTE_EXTENSION,
    VOTING_DELAY,
    State,
    Vote,
    mine_until,
    state_bitmap,
)
from reverts import assert_custom_error


@pytest.fixture
def proposal(lifecycle, token, holders):
    """A harmless proposal, still Pending: voting starts after the snapshot."""
    return lifecycle.propose([(holders[0].address, "0x")], "A harmless proposal")


def tally(governor, proposal):
    against, for_, abstain = governor.proposalVotes(proposal.id)
    return {Vote.AGAINST: against, Vote.FOR: for_, Vote.ABSTAIN: abstain}


# ---------------------------------------------------------------- votes count at the snapshot


def test_tokens_moved_in_after_the_snapshot_do_not_vote(
    lifecycle, governor, token, holders, newcomers, proposal
):
    whale, borrower = holders[0], newcomers[0]
    lifecycle.start_voting(proposal)
    token.transfer(borrower, token.balanceOf(whale), {"from": whale})
    token.delegate(borrower, {"from": borrower})
    assert token.getVotes(borrower) == 400_000 * TOKEN

    [borrowed_vote] = lifecycle.vote(proposal, Vote.FOR, voters=[borrower])
    [lender_vote] = lifecycle.vote(proposal, Vote.FOR, voters=[whale])

    assert borrowed_vote.events["VoteCast"]["weight"] == 0
    assert lender_vote.events["VoteCast"]["weight"] == 400_000 * TOKEN
    assert tally(governor, proposal)[Vote.FOR] == 400_000 * TOKEN


def test_a_holder_topped_up_after_the_snapshot_votes_its_old_weight(
    lifecycle, governor, token, holders, proposal
):
    lifecycle.start_voting(proposal)
    token.transfer(holders[2], 300_000 * TOKEN, {"from": holders[0]})

    [vote] = lifecycle.vote(proposal, Vote.AGAINST, voters=[holders[2]])

    assert vote.events["VoteCast"]["weight"] == 250_000 * TOKEN
    assert tally(governor, proposal)[Vote.AGAINST] == 250_000 * TOKEN


def test_delegating_away_after_the_snapshot_keeps_the_weight(
    lifecycle, token, holders, newcomers, proposal
):
    lifecycle.start_voting(proposal)
    token.delegate(newcomers[0], {"from": holders[1]})

    weights = [
        tx.events["VoteCast"]["weight"]
        for tx in lifecycle.vote(proposal, voters=[holders[1], newcomers[0]])
    ]

    assert weights == [350_000 * TOKEN, 0]


@pytest.mark.parametrize(
    ("blocks_after_proposal", "weight"), [(VOTING_DELAY, 5), (VOTING_DELAY + 1, 0)]
)
def test_a_delegation_counts_up_to_the_snapshot_block(
    lifecycle, governor, token, holders, newcomers, blocks_after_proposal, weight
):
    late = newcomers[0]
    token.transfer(late, 5 * TOKEN, {"from": holders[0]})
    proposal = lifecycle.propose([(holders[0].address, "0x")])
    proposed_at = chain.height

    mine_until(proposed_at + blocks_after_proposal - 1)
    delegated = token.delegate(late, {"from": late})
    assert delegated.block_number == proposed_at + blocks_after_proposal
    assert governor.proposalSnapshot(proposal.id) == proposed_at + VOTING_DELAY
    lifecycle.start_voting(proposal)

    [vote] = lifecycle.vote(proposal, voters=[late])
    assert vote.events["VoteCast"]["weight"] == weight * TOKEN


def test_undelegated_tokens_do_not_vote(lifecycle, token, holders, newcomers, proposal):
    token.transfer(newcomers[0], 100 * TOKEN, {"from": holders[0]})  # before the snapshot
    lifecycle.start_voting(proposal)

    [vote] = lifecycle.vote(proposal, voters=[newcomers[0]])

    assert vote.events["VoteCast"]["weight"] == 0


# ---------------------------------------------------------------- ballots the governor refuses


def test_a_voter_votes_once(lifecycle, holders, proposal):
    lifecycle.start_voting(proposal)
    lifecycle.vote(proposal, Vote.FOR, voters=[holders[0]])

    assert_custom_error(
        lambda: lifecycle.vote(proposal, Vote.AGAINST, voters=[holders[0]]),
        "GovernorAlreadyCastVote(address)",
        holders[0].address,
    )


def test_votes_are_refused_before_the_snapshot_and_after_the_deadline(lifecycle, holders, proposal):
    def vote():
        lifecycle.vote(proposal, voters=[holders[0]])

    assert_custom_error(
        vote,
        "GovernorUnexpectedProposalState(uint256,uint8,bytes32)",
        proposal.id,
        State.PENDING,
        state_bitmap(State.ACTIVE),
    )
    lifecycle.end_voting(proposal)
    assert_custom_error(
        vote,
        "GovernorUnexpectedProposalState(uint256,uint8,bytes32)",
        proposal.id,
        State.DEFEATED,
        state_bitmap(State.ACTIVE),
    )


def test_an_unknown_vote_type_is_refused(governor, lifecycle, holders, proposal):
    lifecycle.start_voting(proposal)

    assert_custom_error(
        lambda: governor.castVote(proposal.id, 3, {"from": holders[0]}),
        "GovernorInvalidVoteType()",
    )
    assert not governor.hasVoted(proposal.id, holders[0])


# ---------------------------------------------------------------- quorum


@pytest.mark.parametrize(
    ("for_", "against", "abstain", "outcome"),
    [
        pytest.param(
            QUORUM - 10_000 * TOKEN, 0, 10_000 * TOKEN, State.SUCCEEDED, id="exact-quorum"
        ),
        pytest.param(QUORUM - 10_000 * TOKEN, 0, 10_000 * TOKEN - 1, State.DEFEATED, id="quorum-1"),
        pytest.param(QUORUM - 1, 0, 0, State.DEFEATED, id="for-below-quorum"),
        pytest.param(50_000 * TOKEN, 50_000 * TOKEN, 0, State.DEFEATED, id="tie"),
        pytest.param(50_000 * TOKEN + 1, 50_000 * TOKEN, 0, State.SUCCEEDED, id="tie+1"),
        pytest.param(1, 0, QUORUM, State.SUCCEEDED, id="abstain-carries-quorum"),
    ],
)
def test_quorum_and_majority_decide_the_outcome(
    lifecycle, governor, token, give_votes, newcomers, for_, against, abstain, outcome
):
    ballots = {Vote.FOR: for_, Vote.AGAINST: against, Vote.ABSTAIN: abstain}
    voters = dict(zip(ballots, newcomers, strict=True))
    for support, amount in ballots.items():
        give_votes(voters[support], amount)
    # A call that loosens nothing (to a plain account), so a simple majority decides.
    proposal = lifecycle.propose([(voters[Vote.FOR].address, "0x")], "Quorum edge")
    lifecycle.start_voting(proposal)
    assert governor.quorum(governor.proposalSnapshot(proposal.id)) == QUORUM

    for support, amount in ballots.items():
        if amount:
            lifecycle.vote(proposal, support, voters=[voters[support]])
    lifecycle.end_voting(proposal)

    assert tally(governor, proposal) == ballots
    assert governor.state(proposal.id) == outcome


def test_a_defeated_proposal_cannot_be_queued(lifecycle, governor, holders, proposal):
    lifecycle.start_voting(proposal)
    lifecycle.vote(proposal, Vote.AGAINST)
    lifecycle.end_voting(proposal)

    assert_custom_error(
        lambda: lifecycle.queue(proposal),
        "GovernorUnexpectedProposalState(uint256,uint8,bytes32)",
        proposal.id,
        State.DEFEATED,
        state_bitmap(State.SUCCEEDED),
    )


# ---------------------------------------------------------------- late quorum


def test_quorum_reached_late_extends_the_vote(lifecycle, governor, holders, proposal):
    lifecycle.start_voting(proposal)
    deadline = governor.proposalDeadline(proposal.id)
    mine_until(deadline - 2)

    [vote] = lifecycle.vote(proposal, Vote.FOR, voters=[holders[2]])

    assert vote.block_number == deadline - 1
    extended = vote.block_number + VOTE_EXTENSION
    assert dict(vote.events["ProposalExtended"][0]) == {
        "proposalId": proposal.id,
        "extendedDeadline": extended,
    }
    assert governor.proposalDeadline(proposal.id) == extended
    mine_until(deadline + 1)
    assert governor.state(proposal.id) == State.ACTIVE
    lifecycle.vote(proposal, Vote.AGAINST, voters=[holders[1]])  # the minority gets its answer
    lifecycle.end_voting(proposal)
    assert chain.height == extended + 1
    assert governor.state(proposal.id) == State.DEFEATED


def test_quorum_reached_early_keeps_the_deadline(lifecycle, governor, holders, proposal):
    lifecycle.start_voting(proposal)
    deadline = governor.proposalDeadline(proposal.id)

    [vote] = lifecycle.vote(proposal, Vote.FOR, voters=[holders[2]])

    assert "ProposalExtended" not in vote.events
    assert governor.proposalDeadline(proposal.id) == deadline
    mine_until(deadline + 1)
    assert governor.state(proposal.id) == State.SUCCEEDED
