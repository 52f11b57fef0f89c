"""End-to-end behaviour of audit_predictions: groups, honesty about small groups, verdicts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from bias_checks import AuditResult, Threshold, Verdict, audit_predictions


def synthetic(n: int = 4000, seed: int = 0, gap: float = 0.0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    band = rng.choice(["a", "b", "c"], n)
    y_true = (rng.random(n) < 0.5).astype(int)
    y_pred = (rng.random(n) < 0.4 + gap * (sex == "M")).astype(int)
    return {"y_true": y_true, "y_pred": y_pred, "sensitive_features": {"sex": sex, "band": band}}


def run(data: dict[str, Any], **kwargs: Any) -> AuditResult:
    return audit_predictions(
        data["y_true"], data["y_pred"], sensitive_features=data["sensitive_features"], **kwargs
    )


def test_intersectional_and_marginal_groups_with_sizes() -> None:
    result = run(synthetic(), n_boot=0)
    groupings = {g.grouping for g in result.groups}
    assert groupings == {("sex", "band"), ("sex",), ("band",)}
    intersections = [g for g in result.groups if g.grouping == ("sex", "band")]
    assert len(intersections) == 6
    assert sum(g.count for g in intersections) == 4000
    assert [dict(g.group)["sex"] for g in result.groups if g.grouping == ("sex",)] == ["F", "M"]


def test_same_inputs_and_seed_give_identical_bytes_and_a_new_seed_changes_cis() -> None:
    data = synthetic()
    thresholds = [Threshold("equalized_odds_difference", 0.2, ci_policy="conservative")]
    first = run(data, thresholds=thresholds, n_boot=200, random_state=1).to_canonical_json()
    again = run(data, thresholds=thresholds, n_boot=200, random_state=1).to_canonical_json()
    other = run(data, thresholds=thresholds, n_boot=200, random_state=2).to_canonical_json()
    assert first == again
    assert first != other
    decoded = json.loads(first)
    assert decoded["schema_version"] == "1"
    assert decoded["config"]["random_state"] == 1
    assert {"groups", "metrics", "disparities", "checks", "verdict", "warnings"} <= decoded.keys()


def test_fair_model_passes_and_unfair_model_fails_with_evidence() -> None:
    thresholds = [Threshold("demographic_parity_difference", 0.1, features=("sex",))]
    fair = run(synthetic(gap=0.0), thresholds=thresholds, n_boot=300)
    unfair = run(synthetic(gap=0.3), thresholds=thresholds, n_boot=300)
    assert fair.verdict is Verdict.PASS
    assert unfair.verdict is Verdict.FAIL
    (check,) = unfair.checks
    assert check.value == pytest.approx(0.3, abs=0.05)
    assert check.ci is not None
    assert check.ci.low <= check.value <= check.ci.high
    assert check.pair is not None
    assert {dict(side.group or {})["sex"] for side in check.pair} == {"F", "M"}
    assert sum(side.count for side in check.pair) == 4000


def test_conservative_policy_is_stricter_than_point() -> None:
    data = synthetic(n=600, gap=0.05)
    point = run(data, thresholds=[Threshold("demographic_parity_difference", 0.09)], n_boot=300)
    strict = run(
        data,
        thresholds=[Threshold("demographic_parity_difference", 0.09, ci_policy="conservative")],
        n_boot=300,
    )
    assert point.checks[0].verdict is Verdict.PASS
    assert strict.checks[0].verdict is Verdict.FAIL
    assert strict.checks[0].judged_value > point.checks[0].judged_value


def test_group_without_negatives_is_never_a_silent_zero_disparity() -> None:
    y_true = np.array([1] * 40 + [0, 1] * 20)
    y_pred = np.array([1] * 40 + [0, 1] * 20)
    group = np.array(["A"] * 40 + ["B"] * 40)
    result = audit_predictions(
        y_true,
        y_pred,
        sensitive_features=group,
        thresholds=[Threshold("false_positive_rate_difference", 0.05)],
        n_boot=100,
        min_group_size=10,
    )
    (check,) = result.checks
    assert check.value == 0.0  # Fairlearn's number: FPR is 0 in A because A has no negatives
    assert check.verdict is Verdict.INCONCLUSIVE
    assert check.reason == "unreliable_groups"
    assert check.unreliable_groups == ((("sensitive_feature_0", "A"),),)
    (fpr_a,) = [m for m in result.group_metrics("false_positive_rate") if m.group[0][1] == "A"]
    assert not fpr_a.defined
    codes = {w.code for w in result.warnings}
    assert "undefined_rate" in codes
    (disparity,) = result.disparity("false_positive_rate_difference")
    assert not disparity.judgeable


def test_small_groups_are_flagged_and_make_checks_inconclusive() -> None:
    data = synthetic(n=200)
    result = run(
        data,
        thresholds=[Threshold("demographic_parity_ratio", 0.5)],
        n_boot=0,
        min_group_size=50,
    )
    small = [g for g in result.groups if g.small]
    assert small
    assert all(g.count < 50 for g in small)
    assert result.checks[0].verdict is Verdict.INCONCLUSIVE
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "small_group" in {w.code for w in result.warnings}


def test_reference_group_modes() -> None:
    y_pred = np.array([1] * 30 + [0] * 30 + [1] * 10 + [0] * 10 + [1] * 5 + [0] * 15)
    group = np.array(["big"] * 60 + ["mid"] * 20 + ["low"] * 20)
    y_true = np.ones_like(y_pred)

    def to_reference(mode: Any) -> Any:
        result = audit_predictions(
            y_true, y_pred, sensitive_features=group, reference_group=mode, n_boot=0
        )
        (entry,) = result.disparity("demographic_parity_difference", method="to_reference")
        return entry

    majority = to_reference("majority")
    assert majority.reference == (("sensitive_feature_0", "big"),)
    assert majority.value == pytest.approx(0.25)
    best = to_reference("best")
    assert best.reference == (("sensitive_feature_0", "big"),)
    named = to_reference({"sensitive_feature_0": "low"})
    assert named.reference == (("sensitive_feature_0", "low"),)
    assert named.value == pytest.approx(0.25)
    assert {dict(side.group or {})["sensitive_feature_0"] for side in named.pair} == {"low", "big"}


def test_base_metric_threshold_judges_the_worst_group() -> None:
    data = synthetic()
    result = run(data, thresholds=[Threshold("accuracy", 0.3)], n_boot=200)
    (check,) = result.checks
    worst = min(m.value for m in result.group_metrics("accuracy"))
    assert check.value == worst
    assert check.verdict is Verdict.PASS
    assert check.ci is not None


def test_every_base_metric_has_bootstrap_and_wilson_intervals() -> None:
    result = run(synthetic(), n_boot=200)
    for entry in result.metrics:
        assert entry.ci is not None, entry.metric
        assert entry.ci.low <= entry.value + 1e-12
        if entry.metric not in ("count", "balanced_accuracy"):
            assert entry.wilson is not None
            assert entry.wilson.low <= entry.value <= entry.wilson.high
    assert all(d.ci is not None for d in result.disparities)


def test_regression_audit_checks_error_differences() -> None:
    rng = np.random.default_rng(4)
    y_true = rng.normal(size=2000)
    group = rng.choice(["a", "b"], 2000)
    y_pred = y_true + rng.normal(scale=np.where(group == "a", 0.5, 1.0))
    result = audit_predictions(
        y_true,
        y_pred,
        sensitive_features=group,
        thresholds=[Threshold("rmse_difference", 0.2)],
        n_boot=200,
    )
    assert result.task == "regression"
    (check,) = result.checks
    assert check.value == pytest.approx(0.5, abs=0.1)
    assert check.verdict is Verdict.FAIL
    assert check.ci is not None
    assert check.ci.low < check.value < check.ci.high


def test_audit_with_weights_and_control_features_serialises() -> None:
    data = synthetic()
    rng = np.random.default_rng(1)
    result = run(
        data,
        sample_weight=rng.uniform(0.5, 2.0, 4000),
        control_features={"region": rng.choice(["north", "south"], 4000)},
        thresholds=[Threshold("equal_opportunity_ratio", 0.7)],
        n_boot=100,
    )
    assert result.weighted
    controls = {d.control for d in result.disparity("equal_opportunity_ratio")}
    assert controls == {(("region", "north"),), (("region", "south"),)}
    payload = json.loads(result.to_canonical_json())
    assert payload["control_features"] == ["region"]
    assert payload["checks"][0]["control"]["region"] in {"north", "south"}
