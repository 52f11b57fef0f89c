"""Governed runs judge voted thresholds on score metrics with the trained model's scores."""

from __future__ import annotations

import numpy as np
import pytest

from audit.evidence import audit_under_policy
from audit.manifest import build_manifest
from audit.manifest_data import load_frame
from audit.spec import parse_spec
from audit.synthetic import write_loans_csv
from audit.training import Split, model_scores, split, train
from bias_checks import MetricNotApplicableError, Verdict
from governance.policy.snapshot import EvidenceRuleEntry, Mitigation, PolicySnapshot, ThresholdEntry

SPEC = parse_spec({"name": "m", "dataset": "loans", "seed": 0})


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Split:
    csv = write_loans_csv(tmp_path_factory.mktemp("d") / "loans.csv", 1500)
    m = build_manifest(
        csv, name="loans", label="approved", positive_label="1", sensitive_features=["group"]
    )
    return split(load_frame(m), m, SPEC)


def snapshot(metric: str, value: str, direction: str = "upper") -> PolicySnapshot:
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "44" * 20,
        block_number=1,
        block_hash="0x" + "aa" * 32,
        policy_version=1,
        thresholds=(ThresholdEntry(metric=metric, value=value, direction=direction),),  # type: ignore[arg-type]
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=EvidenceRuleEntry(
            metric=None,
            confidence_level="0.950000",
            min_group_size=30,
            min_denominator=10,
            on_inconclusive="block",
        ),
        evidence_overrides=(),
    )


def test_scores_are_the_pipelines_probability(data: Split) -> None:
    plain = train(SPEC, data)
    scores = model_scores(plain, data.x_test)
    assert scores is not None
    expected = plain["pipeline"].predict_proba(data.x_test)[:, 1]
    assert np.array_equal(scores, expected)
    mitigated = train(SPEC, data, strategy="threshold_optimizer", constraint="demographic_parity")
    underlying = mitigated["pipeline"].predict_proba(data.x_test)[:, 1]
    assert np.array_equal(model_scores(mitigated, data.x_test), underlying)


def test_a_voted_auc_threshold_is_judged_with_the_models_scores(data: Split) -> None:
    model = train(SPEC, data)
    y_pred = model["pipeline"].predict(data.x_test)
    policy = snapshot("roc_auc_difference", "1.000000")
    result = audit_under_policy(
        policy,
        data.y_test,
        y_pred,
        sensitive_features=data.a_test,
        n_boot=0,
        random_state=0,
        y_score=model_scores(model, data.x_test),
    )
    check = result.checks[0]
    assert check.threshold.metric == "roc_auc_difference"
    assert check.verdict == Verdict.PASS  # any gap is at most 1
    assert check.ci is not None
    assert check.ci.method == "delong_newcombe"
    with pytest.raises(MetricNotApplicableError):
        audit_under_policy(
            policy, data.y_test, y_pred, sensitive_features=data.a_test, n_boot=0, random_state=0
        )
