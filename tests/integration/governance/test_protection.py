"""The service reads the chain's classification and protection parameters unchanged."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from web3 import Web3

from governance import actions
from governance.chain import deploy
from governance.protection import Change, classify, majority_needed, read_protection
from tests.helpers import TEST_CONFIG, Governance, mine, pass_and_execute_encoded
from tests.integration.governance.protection_support import FORTY_AGAINST, SIXTY_FOR, propose


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    return gov


def test_a_raised_bound_is_loosening_and_a_new_bound_is_not(gov: Governance) -> None:
    deployment = gov.deployment
    new_bound = actions.SetThreshold(
        metric="demographic_parity_difference", value=Decimal("0.1"), direction="upper"
    )
    targets, _, calldatas = actions.encode([new_bound], deployment.addresses)
    assert classify(gov.w3, deployment.addresses, targets, calldatas).changes == (Change.NONE,)

    pass_and_execute_encoded(gov, *actions.encode([new_bound], deployment.addresses), "A bound")
    raised = new_bound.model_copy(update={"value": Decimal("0.2")})
    cleared = actions.ClearThreshold(metric="demographic_parity_difference")
    targets, _, calldatas = actions.encode([raised, cleared], deployment.addresses)
    result = classify(gov.w3, deployment.addresses, targets, calldatas)
    assert result.loosening
    assert result.changes == (Change.THRESHOLD_WEAKENED, Change.THRESHOLD_CLEARED)


def test_lowering_a_negative_lower_bound_is_loosening_and_needs_the_supermajority(
    gov: Governance,
) -> None:
    deployment = gov.deployment
    floor = actions.SetThreshold(
        metric="statistical_parity_difference", value=Decimal("-0.1"), direction="lower"
    )
    pass_and_execute_encoded(gov, *actions.encode([floor], deployment.addresses), "SPD floor")
    lowered = floor.model_copy(update={"value": Decimal("-0.2")})
    raised = floor.model_copy(update={"value": Decimal("-0.05")})
    for proposed, change in [(lowered, Change.THRESHOLD_WEAKENED), (raised, Change.NONE)]:
        targets, _, calldatas = actions.encode([proposed], deployment.addresses)
        assert classify(gov.w3, deployment.addresses, targets, calldatas).changes == (change,)

    loosening, _ = propose(gov, [lowered], "Lower the SPD floor")
    tightening, _ = propose(gov, [raised], "Raise the SPD floor")
    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    for proposal_id in (loosening, tightening):
        for key in SIXTY_FOR:
            gov.send(key, gov.governor, "castVote", proposal_id, 1)
        for key in FORTY_AGAINST:
            gov.send(key, gov.governor, "castVote", proposal_id, 0)
    deadline = gov.governor.functions.proposalDeadline(loosening).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    defeated, succeeded = 3, 4  # OpenZeppelin's ProposalState
    assert gov.governor.functions.state(loosening).call() == defeated
    assert gov.governor.functions.state(tightening).call() == succeeded


def test_the_default_protection_is_two_thirds_and_a_longer_vote(gov: Governance) -> None:
    protection = read_protection(gov.w3, gov.deployment.addresses)
    config = gov.deployment.config
    assert protection.supermajority == Fraction(2, 3)
    assert protection.guardian == config.guardian
    assert protection.voting_period_for(False) == config.voting_period
    assert protection.voting_period_for(True) == max(
        config.voting_period, config.loosening_voting_period
    )
    assert majority_needed(True, protection.supermajority) == Fraction(2, 3)
    assert majority_needed(False, protection.supermajority) == Fraction(1, 2)
