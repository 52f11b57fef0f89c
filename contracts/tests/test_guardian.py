"""The fairness guardian cancels loosening proposals, and nothing else, until they execute."""

import pytest
from brownie import accounts
from dao import ZERO_ADDRESS, State, Vote, action, b32, state_bitmap
from reverts import assert_custom_error

DPD = b32("demographic_parity_difference")
UPPER = 0
UNABLE_TO_CANCEL = "GovernorUnableToCancel(uint256,address)"
UNEXPECTED_STATE = "GovernorUnexpectedProposalState(uint256,uint8,bytes32)"


def stage_id(state):
    return state.name.lower()


CANCELLABLE = state_bitmap(State.PENDING, State.ACTIVE, State.SUCCEEDED, State.QUEUED)


@pytest.fixture(scope="module")
def as_timelock(timelock):
    return {"from": accounts.at(str(timelock), force=True)}


@pytest.fixture(autouse=True)
def dpd_capped(policy, as_timelock):
    """The policy caps demographic parity difference at 0.1."""
    policy.setThreshold(DPD, 100_000, UPPER, as_timelock)


@pytest.fixture
def loosen(lifecycle, policy):
    """Proposes raising the DPD cap to 0.2 (loosening); every holder will vote FOR."""

    def propose(description="Raise the DPD cap"):
        return lifecycle.propose([action(policy.setThreshold, DPD, 200_000, UPPER)], description)

    return propose


def cancel(governor, proposal, sender):
    targets, values, calldatas, description_hash = proposal.args()
    return governor.cancel(targets, values, calldatas, description_hash, {"from": sender})


def bring_to(lifecycle, proposal, stage):
    """Takes a proposal every holder votes for to `stage`; returns the queue tx if queued."""
    if stage == State.PENDING:
        return None
    lifecycle.start_voting(proposal)
    if stage == State.ACTIVE:
        return None
    lifecycle.vote(proposal)
    lifecycle.end_voting(proposal)
    if stage == State.SUCCEEDED:
        return None
    return lifecycle.queue(proposal)


@pytest.mark.parametrize(
    "stage", [State.PENDING, State.ACTIVE, State.SUCCEEDED, State.QUEUED], ids=stage_id
)
def test_the_guardian_cancels_a_loosening_proposal(
    lifecycle, governor, timelock, guardian, loosen, stage
):
    proposal = loosen()
    queued = bring_to(lifecycle, proposal, stage)
    assert governor.state(proposal.id) == stage

    tx = cancel(governor, proposal, guardian)

    assert tx.events["ProposalCanceled"]["proposalId"] == proposal.id
    assert governor.state(proposal.id) == State.CANCELED
    if queued is not None:
        operation = queued.events["CallScheduled"][0]["id"]
        assert tx.events["Cancelled"]["id"] == operation
        assert not timelock.isOperation(operation)
        lifecycle.wait_for_timelock()
    assert_custom_error(
        lambda: lifecycle.execute(proposal),
        UNEXPECTED_STATE,
        proposal.id,
        State.CANCELED,
        state_bitmap(State.QUEUED),
    )


@pytest.mark.parametrize("stage", [State.PENDING, State.ACTIVE, State.QUEUED], ids=stage_id)
def test_the_guardian_cannot_cancel_a_tightening_proposal(
    lifecycle, governor, policy, guardian, stage
):
    proposal = lifecycle.propose([action(policy.setThreshold, DPD, 50_000, UPPER)], "Tighten")
    bring_to(lifecycle, proposal, stage)

    assert_custom_error(
        lambda: cancel(governor, proposal, guardian),
        "FairnessGovernorNotLoosening(uint256)",
        proposal.id,
    )
    assert governor.state(proposal.id) == stage


def test_the_guardian_cancels_a_proposal_that_became_loosening(
    lifecycle, governor, policy, guardian, holders
):
    first = lifecycle.propose([action(policy.setThreshold, DPD, 50_000, UPPER)], "A tightens")
    second = lifecycle.propose([action(policy.setThreshold, DPD, 80_000, UPPER)], "B tightens")
    lifecycle.start_voting(second)
    for proposal in (first, second):
        lifecycle.vote(proposal)
    lifecycle.end_voting(second)
    lifecycle.queue(first)
    lifecycle.queue(second)
    lifecycle.wait_for_timelock()
    lifecycle.execute(first)
    assert not governor.proposalClassification(second.id)["loosening"]

    cancel(governor, second, guardian)

    assert governor.state(second.id) == State.CANCELED


def test_the_guardian_cancels_a_proposal_that_was_loosening_when_made(
    lifecycle, governor, policy, as_timelock, guardian, loosen
):
    proposal = loosen()
    lifecycle.start_voting(proposal)
    policy.setThreshold(DPD, 300_000, UPPER, as_timelock)  # now 0.2 would tighten
    assert governor.classify(list(proposal.targets), list(proposal.calldatas))[0] is False

    cancel(governor, proposal, guardian)

    assert governor.state(proposal.id) == State.CANCELED


@pytest.mark.parametrize("stage", [State.EXECUTED, State.DEFEATED], ids=stage_id)
def test_the_guardian_cannot_cancel_a_decided_proposal(
    lifecycle, governor, guardian, loosen, stage
):
    proposal = loosen()
    lifecycle.start_voting(proposal)
    lifecycle.vote(proposal, Vote.FOR if stage == State.EXECUTED else Vote.AGAINST)
    lifecycle.end_voting(proposal)
    if stage == State.EXECUTED:
        lifecycle.queue(proposal)
        lifecycle.wait_for_timelock()
        lifecycle.execute(proposal)

    assert_custom_error(
        lambda: cancel(governor, proposal, guardian),
        UNEXPECTED_STATE,
        proposal.id,
        stage,
        CANCELLABLE,
    )


def test_nobody_else_cancels_a_loosening_proposal(
    lifecycle, governor, holders, outsider, deployer, loosen
):
    proposal = loosen()
    lifecycle.start_voting(proposal)

    for sender in (outsider, deployer, holders[0], holders[1]):  # holders[0] proposed it
        assert_custom_error(
            lambda sender=sender: cancel(governor, proposal, sender),
            UNABLE_TO_CANCEL,
            proposal.id,
            sender.address,
        )
    assert governor.state(proposal.id) == State.ACTIVE


def test_the_proposer_cancels_only_while_pending(lifecycle, governor, holders, policy):
    pending = lifecycle.propose([action(policy.setThreshold, DPD, 50_000, UPPER)], "Mine")

    cancel(governor, pending, holders[0])

    assert governor.state(pending.id) == State.CANCELED


def remove_guardian(lifecycle, governor, guardian):
    _, tx = lifecycle.pass_and_execute([action(governor.setProposalGuardian, ZERO_ADDRESS)])
    assert dict(tx.events["ProposalGuardianSet"]) == {
        "oldProposalGuardian": guardian.address,
        "newProposalGuardian": ZERO_ADDRESS,
    }
    assert governor.proposalGuardian() == ZERO_ADDRESS


def test_without_a_guardian_the_proposer_does_not_inherit_its_power(
    lifecycle, governor, holders, guardian, loosen
):
    remove_guardian(lifecycle, governor, guardian)
    proposal = loosen()
    lifecycle.start_voting(proposal)

    # OpenZeppelin would let the proposer cancel at any time when no guardian is set.
    for sender in (holders[0], guardian):
        assert_custom_error(
            lambda sender=sender: cancel(governor, proposal, sender),
            UNABLE_TO_CANCEL,
            proposal.id,
            sender.address,
        )
    assert governor.state(proposal.id) == State.ACTIVE


def test_without_a_guardian_the_zero_address_cannot_cancel(lifecycle, governor, guardian, loosen):
    remove_guardian(lifecycle, governor, guardian)
    proposal = loosen()
    zero = accounts.at(ZERO_ADDRESS, force=True)

    assert_custom_error(
        lambda: cancel(governor, proposal, zero), UNABLE_TO_CANCEL, proposal.id, ZERO_ADDRESS
    )


def test_without_a_guardian_the_proposer_still_cancels_while_pending(
    lifecycle, governor, holders, guardian, loosen
):
    remove_guardian(lifecycle, governor, guardian)
    proposal = loosen()

    cancel(governor, proposal, holders[0])

    assert governor.state(proposal.id) == State.CANCELED


def test_a_new_guardian_replaces_the_old(lifecycle, governor, guardian, newcomers, loosen):
    successor = newcomers[0]
    _, tx = lifecycle.pass_and_execute([action(governor.setProposalGuardian, successor)])
    assert tx.events["ProposalGuardianSet"]["newProposalGuardian"] == successor
    proposal = loosen()
    lifecycle.start_voting(proposal)

    assert_custom_error(
        lambda: cancel(governor, proposal, guardian),
        UNABLE_TO_CANCEL,
        proposal.id,
        guardian.address,
    )
    cancel(governor, proposal, successor)
    assert governor.state(proposal.id) == State.CANCELED
