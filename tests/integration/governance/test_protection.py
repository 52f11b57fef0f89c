"""The service reads the chain's classification and protection parameters unchanged."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from web3 import Web3

from audit.manifest import DatasetManifest, build_manifest
from governance import actions
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.protection import Change, classify, majority_needed, read_protection
from tests.helpers import (
    TEST_CONFIG,
    Governance,
    mine,
    pass_and_execute_encoded,
    signed_offer,
)
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


def _loans(tmp_path: Path) -> DatasetManifest:
    """A manifest whose directional metrics compare every group with men (``sex = M``)."""
    path = tmp_path / "loans.csv"
    rows = ["income,sex,approved"]
    rows += [f"{i},{'M' if i % 2 else 'F'},{int(i % 3 == 0)}" for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    return build_manifest(
        path,
        name="loans-ref",
        label="approved",
        positive_label="1",
        sensitive_features=["sex"],
        salts_path=tmp_path / "salts.json",
        reference_group={"sex": "M"},
    )


def _changes(gov: Governance, proposed: actions.Action) -> tuple[Change, ...]:
    targets, _, calldatas = actions.encode([proposed], gov.deployment.addresses)
    return classify(gov.w3, gov.deployment.addresses, targets, calldatas).changes


def test_swapping_the_voted_privileged_group_is_loosening(gov: Governance, tmp_path: Path) -> None:
    """Review #18: re-allowing a dataset with a manifest naming another reference group was
    ``none``, so a simple majority could turn a four-fifths FAIL into a PASS; the group is
    hashed into the manifest, so any other manifest for a registered dataset is loosening."""
    deployment = gov.deployment
    men = _loans(tmp_path)
    women = men.model_copy(update={"reference_group": {"sex": "F"}})
    assert women.sha256 == men.sha256
    assert women.hash != men.hash

    first = signed_offer(gov.w3, deployment, men)
    assert _changes(gov, first) == (Change.NONE,)  # a first allow adds a dataset
    floor = actions.SetThreshold(metric="disparate_impact", value=Decimal("0.8"), direction="lower")
    pass_and_execute_encoded(
        gov, *actions.encode([first, floor], deployment.addresses), "Allow, men privileged"
    )

    assert _changes(gov, signed_offer(gov.w3, deployment, men)) == (Change.NONE,)  # same manifest
    swap = signed_offer(gov.w3, deployment, women)
    targets, _, calldatas = actions.encode([swap], deployment.addresses)
    result = classify(gov.w3, deployment.addresses, targets, calldatas)
    assert result.loosening
    assert result.changes == (Change.MANIFEST_REPLACED,)
    assert Change.MANIFEST_REPLACED.label == "manifest_replaced"

    # Revoking first (not loosening) does not open a two-step route to the swap.
    revoke = actions.RevokeDataset(dataset_id=first.dataset_id)
    assert _changes(gov, revoke) == (Change.NONE,)
    pass_and_execute_encoded(gov, *actions.encode([revoke], deployment.addresses), "Revoke")
    assert _changes(gov, signed_offer(gov.w3, deployment, women)) == (Change.MANIFEST_REPLACED,)
    assert _changes(gov, signed_offer(gov.w3, deployment, men)) == (Change.NONE,)

    # Voted 60/40, a majority short of the supermajority: the swap is defeated.
    proposal_id, _ = propose(gov, [signed_offer(gov.w3, deployment, women)], "Women privileged")
    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    for key in SIXTY_FOR:
        gov.send(key, gov.governor, "castVote", proposal_id, 1)
    for key in FORTY_AGAINST:
        gov.send(key, gov.governor, "castVote", proposal_id, 0)
    deadline = gov.governor.functions.proposalDeadline(proposal_id).call()
    assert deadline - gov.governor.functions.proposalSnapshot(proposal_id).call() == max(
        TEST_CONFIG.voting_period, TEST_CONFIG.loosening_voting_period
    )
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    defeated = 3  # OpenZeppelin's ProposalState
    assert gov.governor.functions.state(proposal_id).call() == defeated


def test_the_treasurys_votes_and_the_rewards_guards_move_only_by_the_supermajority(
    gov: Governance,
) -> None:
    """Review: a 64 % majority had the timelock delegate the treasury's tokens to a member
    (a token call, then ``none``) and passed a loosening proposal with the treasury's votes."""
    a = gov.deployment.addresses
    member = gov.w3.eth.accounts[1]
    delegate = actions.RawCall(target=a.token, calldata=gov.token.encode_abi("delegate", [member]))
    guardian = actions.RawCall(
        target=a.rewards,
        calldata=bind(gov.w3, "ProviderRewards", a.rewards).encode_abi("setGuardian", [member]),
    )
    assert _changes(gov, delegate) == (Change.TREASURY_MOVED,)
    assert _changes(gov, guardian) == (Change.REWARDS_LOOSENED,)
    assert _changes(gov, actions.FundRewards.of(a, 10)) == (Change.NONE,)
    assert _changes(gov, actions.SetRewardPerEpoch(tokens=1)) == (Change.NONE,)
    assert _changes(gov, actions.SetRewardPerEpoch(tokens=10**6)) == (Change.REWARDS_LOOSENED,)
    assert Change.TREASURY_MOVED.label == "treasury_moved"
