"""The voted evidence rule on its way from a policy snapshot to the engine and the gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.db_models import ModelStatus
from audit.evidence import (
    audit_under_policy,
    evidence_rule,
    gate_rule,
    governed_thresholds,
    on_inconclusive,
)
from audit.gate import decide
from bias_checks import EvidenceRule, OnInconclusive, UnknownReferenceGroupError, audit_predictions
from governance.policy.snapshot import EvidenceRuleEntry, Mitigation, PolicySnapshot, ThresholdEntry

DP = "demographic_parity_difference"
EO = "equalized_odds_difference"


def rule(metric: str | None = None, *, size: int = 30, when: str = "block") -> EvidenceRuleEntry:
    return EvidenceRuleEntry(
        metric=metric,
        confidence_level="0.900000",
        min_group_size=size,
        min_denominator=5,
        on_inconclusive=when,  # type: ignore[arg-type]
    )


def snapshot(default: EvidenceRuleEntry, *overrides: EvidenceRuleEntry) -> PolicySnapshot:
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "44" * 20,
        block_number=1,
        block_hash="0x" + "aa" * 32,
        policy_version=1,
        thresholds=(
            ThresholdEntry(metric=DP, value="0.100000", direction="upper"),
            ThresholdEntry(metric=EO, value="0.200000", direction="upper"),
        ),
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=default,
        evidence_overrides=overrides,
    )


def test_a_snapshot_rule_becomes_the_engines_rule() -> None:
    assert evidence_rule(rule(when="approve_with_warning")) == EvidenceRule(
        confidence_level=0.9,
        min_group_size=30,
        min_denominator=5,
        on_inconclusive=OnInconclusive.APPROVE_WITH_WARNING,
    )


def test_thresholds_come_from_the_snapshot() -> None:
    thresholds = governed_thresholds(snapshot(rule()))
    assert [(t.metric, t.bound, t.direction) for t in thresholds] == [
        (DP, 0.1, "upper"),
        (EO, 0.2, "upper"),
    ]


@pytest.mark.parametrize(
    ("default", "overrides", "undecided", "expected"),
    [
        ("block", {}, [DP], "block"),
        ("approve_with_warning", {}, [DP, EO], "approve_with_warning"),
        ("approve_with_warning", {EO: "block"}, [DP, EO], "block"),
        ("approve_with_warning", {EO: "block"}, [DP], "approve_with_warning"),
        ("block", {DP: "approve_with_warning"}, [DP], "approve_with_warning"),
        ("block", {DP: "approve_with_warning"}, [], "block"),
    ],
)
def test_one_blocking_rule_among_the_undecided_metrics_blocks(
    default: str, overrides: dict[str, str], undecided: list[str], expected: str
) -> None:
    snap = snapshot(rule(when=default), *(rule(m, when=w) for m, w in overrides.items()))
    assert on_inconclusive(snap, undecided) == OnInconclusive(expected)


@pytest.mark.parametrize(
    ("verdict", "when", "anchored", "status"),
    [
        ("INCONCLUSIVE", OnInconclusive.BLOCK, True, ModelStatus.BLOCKED),
        ("INCONCLUSIVE", OnInconclusive.APPROVE_WITH_WARNING, True, ModelStatus.APPROVED),
        ("INCONCLUSIVE", OnInconclusive.APPROVE_WITH_WARNING, False, ModelStatus.CANDIDATE),
        ("FAIL", OnInconclusive.APPROVE_WITH_WARNING, True, ModelStatus.BLOCKED),
        ("PASS", OnInconclusive.BLOCK, True, ModelStatus.APPROVED),
    ],
)
def test_the_gate_follows_the_rule_only_for_inconclusive(
    verdict: str, when: OnInconclusive, anchored: bool, status: ModelStatus
) -> None:
    assert decide(verdict, anchored=anchored, on_inconclusive=when)[0] == status


def _audit(snap: PolicySnapshot, rows_per_group: int):
    rng = np.random.default_rng(0)
    n = 2 * rows_per_group
    y_true = rng.integers(0, 2, n)
    y_pred = rng.integers(0, 2, n)
    groups = np.repeat(["a", "b"], rows_per_group)
    return audit_under_policy(
        snap, y_true, y_pred, sensitive_features=groups, n_boot=20, random_state=0
    )


def test_the_voted_minimum_group_size_reaches_the_engine() -> None:
    small = _audit(snapshot(rule(size=10**6, when="approve_with_warning")), 200)
    assert small.verdict == "INCONCLUSIVE"
    assert gate_rule(snapshot(rule(size=10**6, when="approve_with_warning")), small)[1] == [
        f"approved with a warning: {DP}, {EO} INCONCLUSIVE, and the voted evidence rule "
        "approves INCONCLUSIVE models with a warning"
    ]
    assert gate_rule(snapshot(rule(size=10**6)), small) == (OnInconclusive.BLOCK, [])
    assert all(len(c.unreliable_groups) == 2 for c in small.checks)
    judged = _audit(snapshot(rule(size=100)), 200)
    assert all(len(c.unreliable_groups) == 0 for c in judged.checks)


def _privileged_minority() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Group L (600 rows, selection rate 0.5) and the smaller group P (300 rows, rate 0.8)."""
    rng = np.random.default_rng(3)
    sex = np.repeat(["L", "P"], [600, 300])
    y_pred = np.concatenate(
        [rng.permutation([1] * 300 + [0] * 300), rng.permutation([1] * 240 + [0] * 60)]
    )
    y_true = rng.integers(0, 2, sex.size)
    return y_true, y_pred, pd.DataFrame({"sex": sex})


def _four_fifths() -> PolicySnapshot:
    four_fifths = ThresholdEntry(metric="disparate_impact", value="0.800000", direction="lower")
    return snapshot(rule()).model_copy(update={"thresholds": (four_fifths,)})


def test_the_voted_privileged_group_is_the_engines_reference_group() -> None:
    y_true, y_pred, groups = _privileged_minority()
    snap = _four_fifths()
    governed = audit_under_policy(
        snap, y_true, y_pred, sensitive_features=groups, n_boot=0, random_state=0,
        reference_group={"sex": "P"},
    )  # fmt: skip
    direct = audit_predictions(
        y_true, y_pred, sensitive_features=groups, thresholds=governed_thresholds(snap),
        evidence=evidence_rule(snap.evidence), pos_label=1, n_boot=0, random_state=0,
        reference_group={"sex": "P"},
    )  # fmt: skip
    assert governed.to_canonical_json() == direct.to_canonical_json()
    assert dict(governed.config)["reference_group"] == {"sex": "P"}
    # 0.5 / 0.8 against the privileged group fails; against the largest group, 0.8 / 0.5 passes
    assert governed.checks[0].value == pytest.approx(0.625)
    assert governed.verdict == "FAIL"
    largest = audit_under_policy(
        snap, y_true, y_pred, sensitive_features=groups, n_boot=0, random_state=0
    )
    assert dict(largest.config)["reference_group"] == "majority"
    assert largest.checks[0].value == pytest.approx(1.6)
    assert largest.verdict == "PASS"


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ({"sex": "Q"}, "The reference group sex=Q does not occur: column 'sex' holds L, P."),
        ({"race": "W"}, "each sensitive feature (sex); race is not one."),
    ],
)
def test_a_privileged_group_without_rows_is_refused_before_auditing(
    group: dict[str, str], message: str
) -> None:
    y_true, y_pred, groups = _privileged_minority()
    with pytest.raises(UnknownReferenceGroupError) as raised:
        audit_under_policy(
            _four_fifths(), y_true, y_pred, sensitive_features=groups, n_boot=0,
            random_state=0, reference_group=group,
        )  # fmt: skip
    assert message in raised.value.message
    assert raised.value.code == "unknown_reference_group"
