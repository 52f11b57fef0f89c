"""Replaying TrainingPolicy events: order, every event kind, names that are not text."""

from __future__ import annotations

import pytest

from governance.errors import PolicyLacksEvidenceRule, PolicyLacksFederationPolicy
from governance.policy.history import APPLY, PolicyChange, replay
from governance.policy.snapshot import (
    Aggregation,
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    ThresholdEntry,
)

D1, C1, M1 = ("0x" + c * 32 for c in ("d1", "c1", "a1"))
P1 = "0x" + "99" * 20
OFFER = {
    "datasetId": D1,
    "contentHash": C1,
    "manifestHash": M1,
    "recordsRoot": C1,
    "uri": "file://a",
    "licence": "CC0-1.0",
    "termsHash": M1,
    "provider": P1,
    "issuedAt": 100,
    "deadline": 200,
}


def _name(text: str) -> str:
    return "0x" + text.encode().ljust(32, b"\0").hex()


def _change(block: int, log: int, name: str, version: int, **args: object) -> PolicyChange:
    return PolicyChange(block, log, name, {**args, "policyVersion": version})


DEFAULT_RULE = "0x" + "00" * 32
RULE = {"confidence": 950_000, "minGroupSize": 30, "minDenominator": 10, "onInconclusive": 0}
FEDERATION = {"aggregation": 0, "trimBeta": 200_000, "krumF": 0, "epsilon": 0, "minNodes": 2}

CHANGES = [
    _change(1, 0, "EvidenceRuleSet", 0, metric=DEFAULT_RULE, **RULE),
    _change(1, 1, "FederationPolicySet", 0, **FEDERATION),
    _change(5, 0, "DatasetAllowed", 1, datasetId=D1, provider=P1, offer=OFFER),
    _change(5, 1, "ThresholdSet", 2, metric=_name("dp"), value=100_000, direction=0),
    _change(9, 0, "ThresholdSet", 3, metric=_name("eo"), value=900_000, direction=1),
    _change(9, 3, "DatasetRevoked", 4, datasetId=D1),
    _change(9, 4, "DatasetWithdrawn", 4, datasetId=D1, provider=P1, issuedAt=99),  # older
    _change(12, 0, "ThresholdCleared", 5, metric=_name("dp")),
    _change(
        12, 1, "MitigationSet", 6, strategy=_name("threshold_optimizer"), constraint=_name("dp")
    ),
    _change(13, 0, "EvidenceRuleSet", 7, metric=_name("eo"), **{**RULE, "onInconclusive": 1}),
    _change(13, 1, "EvidenceRuleSet", 8, metric=_name("dp"), **{**RULE, "confidence": 990_000}),
    _change(14, 0, "EvidenceRuleCleared", 9, metric=_name("dp")),
    _change(
        15, 0, "FederationPolicySet", 10,
        **{**FEDERATION, "aggregation": 3, "krumF": 1, "epsilon": 2_500_000, "minNodes": 5},
    ),
]  # fmt: skip


def test_every_event_kind_is_applied_in_chain_order_whatever_the_input_order():
    state = replay(reversed(CHANGES))
    assert state.version == 10
    assert state.datasets == {
        D1: DatasetEntry(
            dataset_id=D1,
            content_hash=C1,
            manifest_hash=M1,
            records_root=C1,
            uri="file://a",
            licence="CC0-1.0",
            terms_hash=M1,
            provider="0x" + "99" * 20,
            consented_at=100,
            allowed=False,
        )
    }
    assert state.thresholds == {
        "eo": ThresholdEntry(metric="eo", value="0.900000", direction="lower")
    }
    assert state.mitigation == Mitigation(strategy="threshold_optimizer", constraint="dp")
    assert state.evidence == {
        None: EvidenceRuleEntry(
            confidence_level="0.950000", min_group_size=30, min_denominator=10,
            on_inconclusive="block",
        ),
        "eo": EvidenceRuleEntry(
            metric="eo", confidence_level="0.950000", min_group_size=30, min_denominator=10,
            on_inconclusive="approve_with_warning",
        ),
    }  # fmt: skip
    assert state.federation == FederationPolicy(
        aggregation=Aggregation.KRUM, krum_f=1, epsilon="2.500000", min_nodes=5
    )
    assert set(APPLY) == {c.name for c in CHANGES}


def test_a_policy_without_the_constructor_rule_is_refused_not_snapshotted():
    # A TrainingPolicy from before evidence rules emits no EvidenceRuleSet: no audit may run
    # under the policy its events rebuild.
    state = replay(c for c in CHANGES if c.name != "EvidenceRuleSet")
    with pytest.raises(PolicyLacksEvidenceRule):
        state.snapshot(chain_id=1, policy="0x" + "11" * 20, block_number=1, block_hash="0x00")


def test_a_policy_without_the_constructor_federation_policy_is_refused_not_snapshotted():
    # A TrainingPolicy from before the federation policy emits no FederationPolicySet.
    state = replay(c for c in CHANGES if c.name != "FederationPolicySet")
    with pytest.raises(PolicyLacksFederationPolicy, match="predates the federation policy"):
        state.snapshot(chain_id=1, policy="0x" + "11" * 20, block_number=1, block_hash="0x00")


def test_a_prefix_of_the_events_is_the_policy_at_that_block():
    state = replay(c for c in CHANGES if c.block_number <= 5)
    assert state.version == 2
    assert state.federation == FederationPolicy()
    assert state.datasets[D1].allowed is True
    assert [t.value for t in state.thresholds.values()] == ["0.100000"]
    assert state.mitigation == Mitigation(strategy="none", constraint="")


def test_a_signed_threshold_replays_as_its_negative_decimal():
    spd = _name("statistical_parity_difference")
    state = replay([_change(3, 0, "ThresholdSet", 1, metric=spd, value=-100_000, direction=1)])
    assert state.thresholds == {
        "statistical_parity_difference": ThresholdEntry(
            metric="statistical_parity_difference", value="-0.100000", direction="lower"
        )
    }


def test_a_name_that_is_not_text_shows_as_hex_like_the_state_read():
    raw = "0x" + "ff" * 32
    state = replay([_change(1, 0, "ThresholdSet", 1, metric=raw, value=1, direction=0)])
    assert list(state.thresholds) == [raw]


def test_a_withdrawal_counts_only_when_newer_than_the_consent_in_force():
    allowed = _change(5, 0, "DatasetAllowed", 1, datasetId=D1, provider=P1, offer=OFFER)
    older = _change(6, 0, "DatasetWithdrawn", 2, datasetId=D1, provider=P1, issuedAt=99)
    same = _change(7, 0, "DatasetWithdrawn", 3, datasetId=D1, provider=P1, issuedAt=100)
    unknown = _change(7, 1, "DatasetWithdrawn", 4, datasetId=C1, provider=P1, issuedAt=500)
    base = [CHANGES[0], allowed]

    assert replay([*base, older]).datasets[D1].allowed is True
    entry = replay([*base, older, same, unknown]).datasets[D1]
    assert (entry.allowed, entry.withdrawn) == (False, True)
    assert C1 not in replay([*base, unknown]).datasets
