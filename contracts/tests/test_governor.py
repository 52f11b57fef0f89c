"""The DAO path: proposals change TrainingPolicy only through the governor and the timelock."""

import pytest
from dao import (
    TIMELOCK_DELAY,
    ZERO_ADDRESS,
    ZERO_HASH,
    State,
    action,
    b32,
    signed_offer,
    state_bitmap,
    text_id,
)
from reverts import assert_custom_error
from signing import Signer

LOANS = text_id("loans-2024")
PROVIDER = Signer.named("provider")
DPD = b32("demographic_parity_difference")
UPPER, LOWER = 0, 1


def allow_loans(policy):
    """The call that allows loans-2024 with its provider's signed offer, and the offer."""
    offer, signature = signed_offer(PROVIDER, policy, "loans-2024")
    return action(policy.allowDataset, offer.args(), signature), offer


def test_a_proposal_walks_through_every_state(lifecycle, governor, token, holders, outsider):
    proposal = lifecycle.propose([(holders[0].address, "0x")], "No-op")
    assert proposal.id == governor.hashProposal(*proposal.args())
    assert governor.state(proposal.id) == State.PENDING

    lifecycle.start_voting(proposal)
    weights = [tx.events["VoteCast"]["weight"] for tx in lifecycle.vote(proposal)]
    assert weights == [token.balanceOf(holder) for holder in holders]
    assert governor.state(proposal.id) == State.ACTIVE

    lifecycle.end_voting(proposal)
    assert governor.state(proposal.id) == State.SUCCEEDED

    queued = lifecycle.queue(proposal)
    assert queued.events["ProposalQueued"]["etaSeconds"] == queued.timestamp + TIMELOCK_DELAY
    assert governor.state(proposal.id) == State.QUEUED

    lifecycle.wait_for_timelock()
    executed = lifecycle.execute(proposal, sender=outsider)
    assert executed.events["ProposalExecuted"]["proposalId"] == proposal.id
    assert governor.state(proposal.id) == State.EXECUTED


def test_an_executed_proposal_changes_the_policy_and_bumps_its_version(lifecycle, policy):
    allow, offer = allow_loans(policy)
    _, tx = lifecycle.pass_and_execute(
        [
            allow,
            action(policy.setThreshold, DPD, 100_000, UPPER),
            action(policy.setMitigation, b32("threshold_optimizer"), b32("demographic_parity")),
        ],
        "Allow loans, cap DPD at 0.1, mitigate with a threshold optimizer",
    )

    allowed = tx.events["DatasetAllowed"]
    assert (allowed["datasetId"], allowed["provider"]) == (LOANS, PROVIDER.address)
    assert (tuple(allowed["offer"]), allowed["policyVersion"]) == (offer.args(), 1)
    threshold = tx.events["ThresholdSet"]
    assert (threshold["metric"], threshold["value"], threshold["direction"]) == (
        DPD,
        100_000,
        UPPER,
    )
    assert threshold["policyVersion"] == 2
    mitigation = tx.events["MitigationSet"]
    assert mitigation["strategy"] == b32("threshold_optimizer")
    assert mitigation["constraint"] == b32("demographic_parity")
    assert mitigation["policyVersion"] == 3

    assert policy.policyVersion() == 3
    assert policy.getDataset(LOANS).dict() == offer.record()
    assert policy.allowedDatasetIds() == [LOANS]
    assert tuple(policy.getThreshold(DPD)) == (100_000, UPPER)
    assert tuple(policy.mitigation()) == (b32("threshold_optimizer"), b32("demographic_parity"))


def test_a_later_proposal_revokes_and_clears(lifecycle, policy):
    lifecycle.pass_and_execute(
        [
            allow_loans(policy)[0],
            action(policy.setThreshold, DPD, 800_000, LOWER),
        ],
        "Allow loans, floor DPD",
    )

    _, tx = lifecycle.pass_and_execute(
        [action(policy.revokeDataset, LOANS), action(policy.clearThreshold, DPD)],
        "Revoke loans, drop the DPD floor",
    )

    assert tx.events["DatasetRevoked"]["datasetId"] == LOANS
    assert tx.events["DatasetRevoked"]["policyVersion"] == 3
    assert tx.events["ThresholdCleared"]["metric"] == DPD
    assert tx.events["ThresholdCleared"]["policyVersion"] == 4
    assert policy.policyVersion() == 4
    assert not policy.isAllowed(LOANS)
    assert policy.datasetIds() == [LOANS]
    assert policy.allowedDatasetIds() == []
    assert not policy.hasThreshold(DPD)


def test_a_proposal_whose_call_reverts_does_not_execute(lifecycle, governor, policy):
    proposal = lifecycle.pass_proposal([action(policy.revokeDataset, LOANS)], "Revoke unknown")
    lifecycle.queue(proposal)
    lifecycle.wait_for_timelock()

    assert_custom_error(
        lambda: lifecycle.execute(proposal), "TrainingPolicyUnknownDataset(bytes32)", LOANS
    )
    assert governor.state(proposal.id) == State.QUEUED
    assert policy.policyVersion() == 0


def test_execution_waits_for_the_timelock_delay(lifecycle, governor, policy):
    proposal = lifecycle.pass_proposal([action(policy.setThreshold, DPD, 1, UPPER)])
    operation_id = lifecycle.queue(proposal).events["CallScheduled"][0]["id"]

    assert_custom_error(
        lambda: lifecycle.execute(proposal),
        "TimelockUnexpectedOperationState(bytes32,bytes32)",
        operation_id,
        state_bitmap(2),  # TimelockController.OperationState.Ready
    )
    assert not policy.hasThreshold(DPD)


def test_a_proposal_executes_only_once(lifecycle, governor, policy):
    proposal, _ = lifecycle.pass_and_execute([action(policy.setThreshold, DPD, 1, UPPER)])

    assert_custom_error(
        lambda: lifecycle.execute(proposal),
        "GovernorUnexpectedProposalState(uint256,uint8,bytes32)",
        proposal.id,
        State.EXECUTED,
        state_bitmap(State.QUEUED),
    )
    assert policy.policyVersion() == 1


POLICY_CHANGES = {
    "allowDataset": lambda policy: allow_loans(policy)[0],
    "revokeDataset": lambda policy: action(policy.revokeDataset, LOANS),
    "setThreshold": lambda policy: action(policy.setThreshold, DPD, 100_000, UPPER),
    "clearThreshold": lambda policy: action(policy.clearThreshold, DPD),
    "setMitigation": lambda policy: action(
        policy.setMitigation, b32("exponentiated_gradient"), b32("equalized_odds")
    ),
}


@pytest.mark.parametrize("caller", ["holder", "deployer", "governor"])
@pytest.mark.parametrize("change", POLICY_CHANGES)
def test_only_the_timelock_changes_the_policy(
    policy, governor, holders, deployer, impersonate, caller, change
):
    sender = {"holder": holders[0], "deployer": deployer, "governor": impersonate(governor)}[caller]

    _, calldata = POLICY_CHANGES[change](policy)

    assert_custom_error(
        lambda: sender.transfer(policy, 0, data=calldata),
        "OwnableUnauthorizedAccount(address)",
        sender.address,
    )
    assert policy.policyVersion() == 0


def test_the_timelock_owns_the_policy(policy, timelock, impersonate):
    assert policy.owner() == timelock

    policy.setThreshold(DPD, 1, UPPER, {"from": impersonate(timelock)})

    assert policy.policyVersion() == 1


def test_the_governor_is_the_timelocks_only_operator(timelock, governor, deployer, holders):
    roles = {
        "admin": timelock.DEFAULT_ADMIN_ROLE(),
        "proposer": timelock.PROPOSER_ROLE(),
        "canceller": timelock.CANCELLER_ROLE(),
        "executor": timelock.EXECUTOR_ROLE(),
    }
    operator_roles = ["proposer", "canceller", "executor"]
    assert [timelock.hasRole(roles[r], governor) for r in operator_roles] == [True] * 3
    for account in [deployer, *holders, ZERO_ADDRESS]:
        assert not any(timelock.hasRole(role, account) for role in roles.values())
    assert timelock.getRoleAdmin(roles["proposer"]) == roles["admin"]
    assert timelock.hasRole(roles["admin"], timelock)


def test_nobody_bypasses_the_governor_at_the_timelock(timelock, policy, deployer, holders):
    call = (policy.address, 0, policy.setThreshold.encode_input(DPD, 1, UPPER), ZERO_HASH)

    assert_custom_error(
        lambda: timelock.schedule(*call, ZERO_HASH, TIMELOCK_DELAY, {"from": holders[0]}),
        "AccessControlUnauthorizedAccount(address,bytes32)",
        holders[0].address,
        timelock.PROPOSER_ROLE(),
    )
    assert_custom_error(
        lambda: timelock.execute(*call, ZERO_HASH, {"from": holders[0]}),
        "AccessControlUnauthorizedAccount(address,bytes32)",
        holders[0].address,
        timelock.EXECUTOR_ROLE(),
    )
    assert_custom_error(
        lambda: timelock.grantRole(timelock.PROPOSER_ROLE(), deployer, {"from": deployer}),
        "AccessControlUnauthorizedAccount(address,bytes32)",
        deployer.address,
        timelock.DEFAULT_ADMIN_ROLE(),
    )


def test_proposer_suffix_restricts_who_may_propose(lifecycle, governor, token, holders):
    chosen = holders[1]
    description = f"Allow loans\n\n#proposer={chosen.address.lower()}"
    actions = [(holders[0].address, "0x")]

    assert_custom_error(
        lambda: lifecycle.propose(actions, description, proposer=holders[0]),
        "GovernorRestrictedProposer(address)",
        holders[0].address,
    )

    proposal = lifecycle.propose(actions, description, proposer=chosen)
    assert governor.proposalProposer(proposal.id) == chosen
