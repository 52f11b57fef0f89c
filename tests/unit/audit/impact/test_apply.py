"""A proposal's actions applied to a policy snapshot, as the TrainingPolicy stores them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.impact import ActionNotApplicable, apply_actions
from governance.actions import (
    AllowDataset,
    ClearEvidenceRule,
    ClearThreshold,
    DatasetOffer,
    GrantAuditor,
    RawCall,
    RevokeDataset,
    SetEvidenceRule,
    SetFederationPolicy,
    SetMitigation,
    SetThreshold,
    SetVotingPeriod,
    dataset_id_of,
)
from governance.policy.models import (
    Aggregation,
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    PolicySnapshot,
    ThresholdEntry,
)

DP = "demographic_parity_difference"
EO = "equalized_odds_difference"
LOANS = dataset_id_of("loans")
HASH = "0x" + "ab" * 32
PROVIDER = "0x" + "77" * 20


def _snapshot() -> PolicySnapshot:
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "44" * 20,
        block_number=9,
        block_hash="0x" + "aa" * 32,
        policy_version=4,
        datasets=(
            DatasetEntry(
                dataset_id=LOANS,
                content_hash=HASH,
                manifest_hash=HASH,
                records_root=HASH,
                uri="file:x",
                licence="",
                terms_hash=HASH,
                provider=PROVIDER,
                consented_at=1,
                allowed=True,
            ),
        ),
        thresholds=(ThresholdEntry(metric=DP, value="0.100000", direction="upper"),),
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=EvidenceRuleEntry(
            confidence_level="0.950000",
            min_group_size=30,
            min_denominator=10,
            on_inconclusive="block",
        ),
    )


def test_thresholds_are_set_replaced_and_cleared_in_order():
    proposed = apply_actions(
        _snapshot(),
        [
            SetThreshold(metric=EO, value=Decimal("0.2"), direction="upper"),
            SetThreshold(metric=DP, value=Decimal("0.25"), direction="upper"),
            ClearThreshold(metric=EO),
            SetThreshold(metric="accuracy", value=Decimal("0.7"), direction="lower"),
        ],
    ).snapshot
    assert [(t.metric, t.value, t.direction) for t in proposed.thresholds] == [
        ("accuracy", "0.700000", "lower"),
        (DP, "0.250000", "upper"),
    ]
    assert proposed.policy_version == 8
    # Each value is stored as the snapshot reads it back from the chain.
    assert proposed.thresholds[1] == ThresholdEntry(metric=DP, value="0.250000", direction="upper")


def test_the_original_snapshot_is_left_alone():
    snapshot = _snapshot()
    apply_actions(snapshot, [ClearThreshold(metric=DP)])
    assert snapshot == _snapshot()


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        (ClearThreshold(metric=EO), f"there is no threshold on {EO} to clear"),
        (ClearEvidenceRule(metric=DP), f"{DP} has no evidence rule of its own to clear"),
        (RevokeDataset(dataset_id=dataset_id_of("other")), "is not registered"),
    ],
)
def test_an_action_the_contract_would_revert_is_refused_with_its_position(action, problem):
    with pytest.raises(ActionNotApplicable) as caught:
        apply_actions(_snapshot(), [SetMitigation(strategy="none"), action])
    assert caught.value.code == "action_not_applicable"
    assert caught.value.details["index"] == 2
    assert problem in caught.value.message


def test_a_dataset_cannot_be_revoked_twice():
    with pytest.raises(ActionNotApplicable, match="is not allowed, so it cannot be revoked"):
        apply_actions(
            _snapshot(), [RevokeDataset(dataset_id=LOANS), RevokeDataset(dataset_id=LOANS)]
        )


def test_revoking_and_allowing_datasets():
    revoked = apply_actions(_snapshot(), [RevokeDataset(dataset_id=LOANS)])
    assert revoked.revoked == (LOANS,)
    assert [d.allowed for d in revoked.snapshot.datasets] == [False]
    offer = DatasetOffer.for_name(
        "other",
        content_hash=HASH,
        manifest_hash=HASH,
        records_root=HASH,
        uri="file:y",
        provider=PROVIDER,
        issued_at=2,
        deadline=3,
    )
    other = AllowDataset(offer=offer, provider_signature="0x" + "11" * 65)
    allowed = apply_actions(revoked.snapshot, [other])
    assert {d.dataset_id: d.allowed for d in allowed.snapshot.datasets} == {
        LOANS: False,
        other.dataset_id: True,
    }
    assert allowed.revoked == ()


def test_evidence_rules_and_mitigation():
    current = _snapshot()
    proposed = apply_actions(
        current,
        [
            SetEvidenceRule(confidence_level=Decimal("0.9"), min_group_size=50),
            SetEvidenceRule(
                metric=DP, confidence_level=Decimal("0.99"), on_inconclusive="approve_with_warning"
            ),
            SetMitigation(strategy="threshold_optimizer", constraint="demographic_parity"),
        ],
    )
    snap = proposed.snapshot
    assert (snap.evidence.confidence_level, snap.evidence.min_group_size) == ("0.900000", 50)
    assert [(r.metric, r.confidence_level, r.on_inconclusive) for r in snap.evidence_overrides] == [
        (DP, "0.990000", "approve_with_warning")
    ]
    assert proposed.mitigation_changed(current)
    assert not apply_actions(current, [SetMitigation(strategy="none")]).mitigation_changed(current)
    cleared = apply_actions(snap, [ClearEvidenceRule(metric=DP)]).snapshot
    assert cleared.evidence_overrides == ()


def test_a_federation_policy_change_is_modelled_and_counts_as_a_version():
    krum = SetFederationPolicy(aggregation="krum", krum_f=1, epsilon="0.5", min_nodes=5)
    proposed = apply_actions(_snapshot(), [krum])
    assert proposed.unmodelled == ()
    assert proposed.snapshot.policy_version == _snapshot().policy_version + 1
    assert proposed.snapshot.federation == FederationPolicy(
        aggregation=Aggregation.KRUM, krum_f=1, epsilon="0.500000", min_nodes=5
    )
    assert not proposed.mitigation_changed(_snapshot())


def test_calls_outside_the_fairness_policy_are_named_not_modelled():
    raw = RawCall(target="0x" + "99" * 20, calldata="0xdeadbeef")
    proposed = apply_actions(
        _snapshot(),
        [SetVotingPeriod(blocks=100), GrantAuditor(account="0x" + "12" * 20), raw],
    )
    assert proposed.snapshot == _snapshot()
    assert len(proposed.unmodelled) == 3
    assert proposed.unmodelled[0] == (
        "Set voting period to 100 blocks: not a change of the fairness policy, so it changes "
        "no verdict here"
    )
