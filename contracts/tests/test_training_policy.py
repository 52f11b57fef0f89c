"""TrainingPolicy's rules and errors, on a copy owned by a plain account (no governance).

Consent and withdrawal have their own module, test_consent.py.
"""

import pytest
from dao import ZERO_HASH, b32, latest_time, signed_offer, text_id
from reverts import assert_custom_error
from signing import Signer

DPD = b32("demographic_parity_difference")
EOD = b32("equalized_odds_difference")
UPPER, LOWER = 0, 1
PROVIDER = Signer.named("provider")


@pytest.fixture
def owner(policy_owner):
    return {"from": policy_owner}


@pytest.fixture
def allow(standalone_policy, owner):
    """Allows dataset `name` with its provider's signed offer; returns the offer."""

    def allow(name, **changes):
        offer, signature = signed_offer(PROVIDER, standalone_policy, name, **changes)
        standalone_policy.allowDataset(offer.args(), signature, owner)
        return offer

    return allow


def test_a_new_policy_is_empty_and_unmitigated(standalone_policy):
    assert standalone_policy.policyVersion() == 0
    assert standalone_policy.datasetIds() == []
    assert standalone_policy.allowedDatasetIds() == []
    assert [list(column) for column in standalone_policy.thresholds()] == [[], [], []]
    assert tuple(standalone_policy.mitigation()) == (b32("none"), ZERO_HASH)
    assert standalone_policy.NO_MITIGATION() == b32("none")


@pytest.mark.parametrize("zero", ["dataset_id", "content_hash", "manifest_hash", "records_root"])
def test_allowing_a_dataset_needs_every_hash(standalone_policy, owner, zero):
    offer, signature = signed_offer(PROVIDER, standalone_policy, "loans", **{zero: ZERO_HASH})

    assert_custom_error(
        lambda: standalone_policy.allowDataset(offer.args(), signature, owner),
        "TrainingPolicyZeroHash()",
    )
    assert standalone_policy.datasetIds() == []


def test_reallowing_a_dataset_updates_it_in_place(standalone_policy, owner, allow):
    first = allow("loans", issued_at=latest_time() - 10)
    standalone_policy.revokeDataset(first.dataset_id, owner)
    offer, signature = signed_offer(PROVIDER, standalone_policy, "loans", version=2)

    tx = standalone_policy.allowDataset(offer.args(), signature, owner)

    assert tx.events["DatasetAllowed"]["policyVersion"] == 3
    assert standalone_policy.datasetIds() == [offer.dataset_id]
    assert offer.content_hash != first.content_hash
    assert standalone_policy.getDataset(offer.dataset_id).dict() == offer.record()


def test_revoking_keeps_the_record_for_audit_history(standalone_policy, owner, allow):
    loans = allow("loans")
    credit = allow("credit")

    tx = standalone_policy.revokeDataset(loans.dataset_id, owner)

    assert list(tx.events["DatasetRevoked"].values()) == [loans.dataset_id, 3]
    assert not standalone_policy.isAllowed(loans.dataset_id)
    assert standalone_policy.getDataset(loans.dataset_id).dict() == loans.record(allowed=False)
    assert standalone_policy.datasetIds() == [loans.dataset_id, credit.dataset_id]
    assert standalone_policy.allowedDatasetIds() == [credit.dataset_id]


def test_an_unknown_dataset_cannot_be_revoked_or_read(standalone_policy, owner):
    loans = text_id("loans")
    assert_custom_error(
        lambda: standalone_policy.revokeDataset(loans, owner),
        "TrainingPolicyUnknownDataset(bytes32)",
        loans,
    )
    assert_custom_error(
        lambda: standalone_policy.getDataset(loans), "TrainingPolicyUnknownDataset(bytes32)", loans
    )
    assert not standalone_policy.isAllowed(loans)


def test_a_dataset_is_revoked_once(standalone_policy, owner, allow):
    loans = allow("loans").dataset_id
    standalone_policy.revokeDataset(loans, owner)

    assert_custom_error(
        lambda: standalone_policy.revokeDataset(loans, owner),
        "TrainingPolicyDatasetNotAllowed(bytes32)",
        loans,
    )
    assert standalone_policy.policyVersion() == 2


def test_a_threshold_needs_a_metric_name(standalone_policy, owner):
    assert_custom_error(
        lambda: standalone_policy.setThreshold(ZERO_HASH, 100_000, UPPER, owner),
        "TrainingPolicyEmptyMetric()",
    )
    assert not standalone_policy.hasThreshold(ZERO_HASH)


def test_setting_a_threshold_again_replaces_it(standalone_policy, owner):
    standalone_policy.setThreshold(DPD, 100_000, UPPER, owner)

    tx = standalone_policy.setThreshold(DPD, 800_000, LOWER, owner)

    assert list(tx.events["ThresholdSet"].values()) == [DPD, 800_000, LOWER, 2]
    assert tuple(standalone_policy.getThreshold(DPD)) == (800_000, LOWER)
    assert [list(column) for column in standalone_policy.thresholds()] == [
        [DPD],
        [800_000],
        [LOWER],
    ]


@pytest.mark.parametrize("value", [-100_000, -1, -(2**255), 2**255 - 1])
def test_a_threshold_value_is_signed(standalone_policy, owner, value):
    spd = b32("statistical_parity_difference")
    assert standalone_policy.SIGNED_THRESHOLDS()

    tx = standalone_policy.setThreshold(spd, value, LOWER, owner)

    assert list(tx.events["ThresholdSet"].values()) == [spd, value, LOWER, 1]
    assert tuple(standalone_policy.getThreshold(spd)) == (value, LOWER)
    assert [list(column) for column in standalone_policy.thresholds()] == [[spd], [value], [LOWER]]


def test_clearing_a_threshold_keeps_the_others_enumerable(standalone_policy, owner):
    for metric, value in [(DPD, 100_000), (EOD, 200_000), (b32("accuracy"), 700_000)]:
        standalone_policy.setThreshold(metric, value, UPPER, owner)

    tx = standalone_policy.clearThreshold(DPD, owner)

    assert list(tx.events["ThresholdCleared"].values()) == [DPD, 4]
    metrics, values, _ = standalone_policy.thresholds()
    # The last metric takes the cleared one's place (swap and pop).
    assert list(metrics) == [b32("accuracy"), EOD]
    assert list(values) == [700_000, 200_000]
    assert not standalone_policy.hasThreshold(DPD)


def test_an_unknown_threshold_cannot_be_cleared_or_read(standalone_policy, owner):
    standalone_policy.setThreshold(DPD, 100_000, UPPER, owner)
    standalone_policy.clearThreshold(DPD, owner)

    for call in (
        lambda: standalone_policy.clearThreshold(DPD, owner),
        lambda: standalone_policy.getThreshold(DPD),
    ):
        assert_custom_error(call, "TrainingPolicyUnknownThreshold(bytes32)", DPD)
    assert standalone_policy.policyVersion() == 2


@pytest.mark.parametrize("strategy", ["threshold_optimizer", "exponentiated_gradient"])
def test_a_mitigation_strategy_needs_a_constraint(standalone_policy, owner, strategy):
    assert_custom_error(
        lambda: standalone_policy.setMitigation(b32(strategy), ZERO_HASH, owner),
        "TrainingPolicyMissingConstraint(bytes32)",
        b32(strategy),
    )
    assert tuple(standalone_policy.mitigation()) == (b32("none"), ZERO_HASH)


def test_mitigation_can_be_switched_off_again(standalone_policy, owner):
    standalone_policy.setMitigation(b32("threshold_optimizer"), b32("equalized_odds"), owner)

    tx = standalone_policy.setMitigation(b32("none"), ZERO_HASH, owner)

    assert list(tx.events["MitigationSet"].values()) == [b32("none"), ZERO_HASH, 2]
    assert tuple(standalone_policy.mitigation()) == (b32("none"), ZERO_HASH)


def test_no_mitigation_takes_no_constraint(standalone_policy, owner):
    assert_custom_error(
        lambda: standalone_policy.setMitigation(b32("none"), b32("demographic_parity"), owner),
        "TrainingPolicyUnexpectedConstraint(bytes32)",
        b32("demographic_parity"),
    )
    assert standalone_policy.policyVersion() == 0


def test_the_policy_can_never_lose_its_owner(standalone_policy, owner, policy_owner):
    assert_custom_error(
        lambda: standalone_policy.renounceOwnership(owner),
        "TrainingPolicyCannotRenounceOwnership()",
    )
    assert standalone_policy.owner() == policy_owner


DEFAULT_RULE = (950_000, 30, 10, 0)
BLOCK, APPROVE_WITH_WARNING = 0, 1


def test_a_new_policy_has_the_default_evidence_rule(standalone_policy):
    metrics, rules = standalone_policy.evidenceRules()

    assert list(metrics) == [ZERO_HASH]
    assert [tuple(r) for r in rules] == [DEFAULT_RULE]
    assert tuple(standalone_policy.getEvidenceRule(DPD)) == DEFAULT_RULE
    assert standalone_policy.DEFAULT_EVIDENCE() == ZERO_HASH
    assert not standalone_policy.hasEvidenceRule(ZERO_HASH)


def test_the_constructor_announces_the_default_rule(policy_owner):
    from brownie import TrainingPolicy

    policy = TrainingPolicy.deploy(policy_owner, {"from": policy_owner})

    event = policy.tx.events["EvidenceRuleSet"]
    assert list(event.values()) == [ZERO_HASH, *DEFAULT_RULE, 0]
    assert policy.policyVersion() == 0


def test_a_metric_override_applies_to_that_metric_only(standalone_policy, owner):
    tx = standalone_policy.setEvidenceRule(DPD, 990_000, 100, 20, APPROVE_WITH_WARNING, owner)

    assert list(tx.events["EvidenceRuleSet"].values()) == [DPD, 990_000, 100, 20, 1, 1]
    assert tuple(standalone_policy.getEvidenceRule(DPD)) == (990_000, 100, 20, 1)
    assert tuple(standalone_policy.getEvidenceRule(EOD)) == DEFAULT_RULE
    assert standalone_policy.hasEvidenceRule(DPD)
    metrics, rules = standalone_policy.evidenceRules()
    assert list(metrics) == [ZERO_HASH, DPD]
    assert [tuple(r) for r in rules] == [DEFAULT_RULE, (990_000, 100, 20, 1)]


def test_the_default_rule_can_be_replaced(standalone_policy, owner):
    tx = standalone_policy.setEvidenceRule(ZERO_HASH, 900_000, 0, 0, BLOCK, owner)

    assert tx.events["EvidenceRuleSet"]["policyVersion"] == 1
    assert tuple(standalone_policy.getEvidenceRule(EOD)) == (900_000, 0, 0, 0)
    assert list(standalone_policy.evidenceRules()[0]) == [ZERO_HASH]


@pytest.mark.parametrize("confidence", [0, 500_000, 1_000_000, 2_000_000])
def test_a_confidence_outside_one_half_to_one_is_refused(standalone_policy, owner, confidence):
    assert_custom_error(
        lambda: standalone_policy.setEvidenceRule(DPD, confidence, 30, 10, BLOCK, owner),
        "TrainingPolicyInvalidConfidence(uint256)",
        confidence,
    )
    assert standalone_policy.policyVersion() == 0


@pytest.mark.parametrize("name", ["count", "count_difference", "count_ratio"])
def test_exact_counts_have_no_interval_so_no_evidence_rule(standalone_policy, owner, name):
    metric = b32(name)
    assert_custom_error(
        lambda: standalone_policy.setEvidenceRule(metric, 950_000, 30, 10, BLOCK, owner),
        "TrainingPolicyMetricHasNoInterval(bytes32)",
        metric,
    )
    assert not standalone_policy.hasEvidenceRule(metric)


def test_clearing_an_override_restores_the_default(standalone_policy, owner):
    standalone_policy.setEvidenceRule(DPD, 990_000, 100, 20, BLOCK, owner)
    standalone_policy.setEvidenceRule(EOD, 800_000, 50, 5, BLOCK, owner)

    tx = standalone_policy.clearEvidenceRule(DPD, owner)

    assert list(tx.events["EvidenceRuleCleared"].values()) == [DPD, 3]
    assert tuple(standalone_policy.getEvidenceRule(DPD)) == DEFAULT_RULE
    assert list(standalone_policy.evidenceRules()[0]) == [ZERO_HASH, EOD]
    assert_custom_error(
        lambda: standalone_policy.clearEvidenceRule(DPD, owner),
        "TrainingPolicyUnknownEvidenceRule(bytes32)",
        DPD,
    )


def test_the_default_rule_cannot_be_cleared(standalone_policy, owner):
    assert_custom_error(
        lambda: standalone_policy.clearEvidenceRule(ZERO_HASH, owner),
        "TrainingPolicyCannotClearDefaultEvidenceRule()",
    )
    assert [tuple(r) for r in standalone_policy.evidenceRules()[1]] == [DEFAULT_RULE]


def test_only_the_owner_sets_evidence_rules(standalone_policy, outsider):
    assert_custom_error(
        lambda: standalone_policy.setEvidenceRule(DPD, 950_000, 1, 1, BLOCK, {"from": outsider}),
        "OwnableUnauthorizedAccount(address)",
        outsider.address,
    )
