"""The service reads the chain's classification and protection parameters unchanged."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from web3 import Web3

from governance import actions
from governance.chain import deploy
from governance.protection import Change, classify, majority_needed, read_protection
from tests.helpers import Governance, pass_and_execute_encoded


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
