"""TrainingPolicy's federation policy (#16): default, setter, event, getter and refusals, on a copy
owned by a plain account (no governance)."""

import pytest
from reverts import assert_custom_error

FEDAVG, FEDMEDIAN, FEDTRIMMEDAVG, KRUM = 0, 1, 2, 3
#: (aggregation, trimBeta, krumF, epsilon, minNodes); beta and epsilon fixed point, 1e6 = 1.0.
DEFAULT = (FEDAVG, 200_000, 0, 0, 2)


@pytest.fixture
def owner(policy_owner):
    return {"from": policy_owner}


def test_a_new_policy_has_the_default_federation_policy(standalone_policy):
    assert tuple(standalone_policy.federationPolicy()) == DEFAULT
    assert standalone_policy.policyVersion() == 0


def test_the_constructor_announces_the_default(policy_owner):
    from brownie import TrainingPolicy

    policy = TrainingPolicy.deploy(policy_owner, {"from": policy_owner})

    assert list(policy.tx.events["FederationPolicySet"].values()) == [*DEFAULT, 0]
    assert policy.policyVersion() == 0


@pytest.mark.parametrize(
    "federation",
    [
        (FEDMEDIAN, 200_000, 0, 1_000_000, 3),
        (FEDTRIMMEDAVG, 100_000, 0, 0, 10),
        (FEDTRIMMEDAVG, 499_999, 0, 500_000, 3),
        (KRUM, 200_000, 2, 2_500_000, 7),
        (KRUM, 200_000, 0, 0, 3),
    ],
    ids=["median-with-noise", "trimmed", "trimmed-at-the-edge", "krum-f2", "krum-f0"],
)
def test_the_owner_sets_the_federation_policy(standalone_policy, owner, federation):
    tx = standalone_policy.setFederationPolicy(federation, owner)

    assert list(tx.events["FederationPolicySet"].values()) == [*federation, 1]
    assert tuple(standalone_policy.federationPolicy()) == federation
    assert standalone_policy.policyVersion() == 1


def test_every_change_raises_the_version(standalone_policy, owner):
    standalone_policy.setFederationPolicy((FEDMEDIAN, 200_000, 0, 0, 3), owner)
    tx = standalone_policy.setFederationPolicy(DEFAULT, owner)

    assert tx.events["FederationPolicySet"]["policyVersion"] == 2
    assert tuple(standalone_policy.federationPolicy()) == DEFAULT


@pytest.mark.parametrize("beta", [0, 500_000, 600_000, 2**64 - 1])
def test_a_beta_outside_zero_to_one_half_is_refused(standalone_policy, owner, beta):
    assert_custom_error(
        lambda: standalone_policy.setFederationPolicy((FEDTRIMMEDAVG, beta, 0, 0, 2), owner),
        "TrainingPolicyInvalidTrimBeta(uint64)",
        beta,
    )
    assert tuple(standalone_policy.federationPolicy()) == DEFAULT
    assert standalone_policy.policyVersion() == 0


def test_a_beta_is_checked_with_every_strategy(standalone_policy, owner):
    # It stays stored with every strategy, so moving to FedTrimmedAvg later finds a valid one.
    assert_custom_error(
        lambda: standalone_policy.setFederationPolicy((FEDAVG, 0, 0, 0, 2), owner),
        "TrainingPolicyInvalidTrimBeta(uint64)",
        0,
    )


@pytest.mark.parametrize("aggregation", [FEDAVG, FEDMEDIAN, FEDTRIMMEDAVG])
def test_krum_f_is_refused_with_another_strategy(standalone_policy, owner, aggregation):
    assert_custom_error(
        lambda: standalone_policy.setFederationPolicy((aggregation, 200_000, 1, 0, 9), owner),
        "TrainingPolicyUnusedKrumF(uint8,uint32)",
        aggregation,
        1,
    )


def test_no_nodes_is_refused(standalone_policy, owner):
    assert_custom_error(
        lambda: standalone_policy.setFederationPolicy((FEDAVG, 200_000, 0, 0, 0), owner),
        "TrainingPolicyTooFewNodes(uint32,uint256)",
        0,
        1,
    )


@pytest.mark.parametrize(("krum_f", "min_nodes"), [(0, 2), (1, 4), (2, 6), (2**32 - 1, 2**32 - 1)])
def test_krum_needs_more_than_twice_f_plus_two_nodes(standalone_policy, owner, krum_f, min_nodes):
    assert_custom_error(
        lambda: standalone_policy.setFederationPolicy((KRUM, 200_000, krum_f, 0, min_nodes), owner),
        "TrainingPolicyTooFewNodes(uint32,uint256)",
        min_nodes,
        2 * krum_f + 3,
    )


@pytest.mark.parametrize(
    ("aggregation", "beta", "min_nodes", "needed"),
    [(FEDMEDIAN, 200_000, 2, 3), (FEDTRIMMEDAVG, 200_000, 4, 5), (FEDTRIMMEDAVG, 300_000, 3, 4)],
)
def test_a_robust_strategy_needs_the_nodes_it_cuts_from(
    standalone_policy, owner, aggregation, beta, min_nodes, needed
):
    assert_custom_error(
        lambda: standalone_policy.setFederationPolicy((aggregation, beta, 0, 0, min_nodes), owner),
        "TrainingPolicyTooFewNodes(uint32,uint256)",
        min_nodes,
        needed,
    )
    standalone_policy.setFederationPolicy((aggregation, beta, 0, 0, needed), owner)
    assert standalone_policy.federationPolicy()[4] == needed


def test_an_unknown_strategy_does_not_decode(standalone_policy, owner):
    from brownie.exceptions import VirtualMachineError

    with pytest.raises(VirtualMachineError):
        standalone_policy.setFederationPolicy((4, 200_000, 0, 0, 2), owner)
    assert tuple(standalone_policy.federationPolicy()) == DEFAULT


def test_only_the_owner_sets_the_federation_policy(standalone_policy, outsider):
    assert_custom_error(
        lambda: standalone_policy.setFederationPolicy(DEFAULT, {"from": outsider}),
        "OwnableUnauthorizedAccount(address)",
        outsider.address,
    )
