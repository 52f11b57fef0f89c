"""Re-judging a stored audit under other bounds agrees with auditing again (bias_checks)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from audit.evidence import audit_under_policy
from audit.impact import rejudge
from audit.report_model import AuditView
from bias_checks import AuditResult, Verdict
from governance.actions import Direction
from governance.policy.models import EvidenceRuleEntry, Mitigation, PolicySnapshot, ThresholdEntry

DP = "demographic_parity_difference"
EO = "equalized_odds_difference"
ACCURACY = "accuracy"


def _rule(confidence: str = "0.950000", size: int = 30, metric: str | None = None):
    return EvidenceRuleEntry(
        metric=metric,
        confidence_level=confidence,
        min_group_size=size,
        min_denominator=10,
        on_inconclusive="block",
    )


def _snapshot(
    *thresholds: tuple[str, str, Direction],
    evidence: EvidenceRuleEntry | None = None,
    overrides: tuple[EvidenceRuleEntry, ...] = (),
) -> PolicySnapshot:
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "44" * 20,
        block_number=1,
        block_hash="0x" + "aa" * 32,
        policy_version=1,
        thresholds=tuple(
            ThresholdEntry(
                metric=m, value=str(Decimal(v).quantize(Decimal("0.000001"))), direction=d
            )
            for m, v, d in sorted(thresholds)
        ),
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=evidence or _rule(),
        evidence_overrides=overrides,
    )


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    n = 3000
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.35, 0.15])
    region = rng.choice(["north", "south"], size=n)
    y_true = rng.binomial(1, 0.5, size=n)
    bias = np.select([group == "a", group == "b"], [0.8, 0.3], 0.5)
    y_pred = np.where(rng.random(n) < 0.75, y_true, rng.binomial(1, bias))
    return y_true, y_pred, {"group": group, "region": region}


def _audit(data, snapshot: PolicySnapshot) -> AuditResult:
    y_true, y_pred, sensitive = data
    return audit_under_policy(
        snapshot, y_true, y_pred, sensitive_features=sensitive, n_boot=0, random_state=0
    )


def _view(result: AuditResult) -> AuditView:
    return AuditView.model_validate(json.loads(result.to_canonical_json()))


@pytest.fixture(scope="module")
def stored(data) -> AuditView:
    """The audit as its report stores it, under the policy it ran with."""
    return _view(_audit(data, STORED))


STORED = _snapshot((DP, "0.1", "upper"), (ACCURACY, "0.7", "lower"))
BOUNDS = ["0", "0.05", "0.1", "0.15", "0.2", "0.3", "0.5", "1"]


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("metric", [DP, EO, "false_positive_rate_difference"])
def test_a_new_bound_on_a_disparity_gets_the_verdict_a_new_audit_gives(data, stored, metric, bound):
    proposed = _snapshot((metric, bound, "upper"))
    expected = _audit(data, proposed)

    outcome = rejudge(stored, proposed)

    assert outcome.undecided == ()
    assert outcome.verdict == expected.verdict
    assert outcome.checks == ((metric, expected.checks[0].verdict),)


def test_the_grid_covers_every_verdict(data, stored):
    seen = {rejudge(stored, _snapshot((DP, b, "upper"))).verdict for b in BOUNDS}
    assert seen == {Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE}


@pytest.mark.parametrize("bound", ["0.5", "0.7", "0.75", "0.8", "0.9"])
def test_a_new_lower_bound_on_a_base_metric_is_judged_from_its_stored_check(data, stored, bound):
    proposed = _snapshot((DP, "0.1", "upper"), (ACCURACY, bound, "lower"))
    expected = _audit(data, proposed)

    outcome = rejudge(stored, proposed)

    assert outcome.undecided == ()
    assert outcome.verdict == expected.verdict
    assert dict(outcome.checks) == {c.threshold.metric: c.verdict for c in expected.checks}


def test_a_base_metric_in_another_direction_is_left_to_the_full_preview(data, stored):
    outcome = rejudge(stored, _snapshot((ACCURACY, "0.9", "upper")))
    assert outcome.verdict is None
    assert outcome.undecided == (
        "accuracy: the stored audit holds no interval for its upper bound",
    )


def test_another_confidence_leaves_the_verdict_undecided_with_the_reason(data, stored):
    proposed = _snapshot((DP, "0.3", "upper"), evidence=_rule("0.990000"))
    outcome = rejudge(stored, proposed)
    assert outcome.verdict is None
    (reason,) = outcome.undecided
    assert reason.startswith(f"{DP}: judged under another evidence rule (0.99 confidence")


def test_a_decided_fail_fails_the_audit_whatever_is_undecided(data, stored):
    override = _rule("0.990000", metric=EO)
    proposed = _snapshot((DP, "0", "upper"), (EO, "0.3", "upper"), overrides=(override,))
    outcome = rejudge(stored, proposed)
    assert outcome.verdict == Verdict.FAIL == _audit(data, proposed).verdict
    assert len(outcome.undecided) == 1


def test_an_override_the_stored_check_used_is_judged_from_that_check(data):
    override = _rule("0.900000", metric=DP)
    stored_policy = _snapshot((DP, "0.1", "upper"), overrides=(override,))
    stored = _view(_audit(data, stored_policy))
    for bound in BOUNDS:
        proposed = _snapshot((DP, bound, "upper"), overrides=(override,))
        assert rejudge(stored, proposed).verdict == _audit(data, proposed).verdict


def test_a_bigger_minimum_group_makes_the_intervals_unknowable(data, stored):
    outcome = rejudge(stored, _snapshot((DP, "0.1", "upper"), evidence=_rule(size=400)))
    assert outcome.verdict is None


def test_no_thresholds_is_a_vacuous_pass(data, stored):
    assert rejudge(stored, _snapshot()).verdict == Verdict.PASS == _audit(data, _snapshot()).verdict
