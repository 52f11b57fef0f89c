"""The audit report: deterministic canonical bytes, hash, round trip and worst violations."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from audit.errors import InvalidReport, ReportNotCanonical
from audit.report import (
    REPORT_SCHEMA_VERSION,
    DatasetInfo,
    ModelInfo,
    PolicyInfo,
    Report,
    build_report,
)
from bias_checks import Threshold, audit_predictions

RUN_ID = "0x" + "ab" * 32
DATASET = DatasetInfo(
    name="loans.csv",
    content_hash="0x" + "11" * 32,
    rows=400,
    label="approved",
    positive_label="1",
    sensitive_features=["sex"],
)
POLICY = PolicyInfo(
    chain_id=31337,
    policy_address="0x" + "22" * 20,
    version=4,
    block_number=120,
    block_hash="0x" + "33" * 32,
    snapshot_hash="0x" + "44" * 32,
    mitigation_strategy="threshold_optimizer",
    mitigation_constraint="demographic_parity",
)
THRESHOLDS = (
    Threshold("demographic_parity_difference", 0.1),
    Threshold("accuracy", 0.6),
    Threshold("equalized_odds_difference", 0.9),
)


def _audit(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(3)
    sex = rng.choice(["f", "m"], n)
    y = rng.integers(0, 2, n)
    pred = np.where(sex == "m", rng.random(n) < 0.7, rng.random(n) < 0.3).astype(int)
    return audit_predictions(
        y,
        pred,
        sensitive_features={"sex": sex},
        thresholds=THRESHOLDS,
        n_boot=50,
        random_state=seed,
    )


def _report(seed: int = 0, **overrides) -> Report:
    kwargs = {
        "kind": "training_run",
        "run_id": RUN_ID,
        "audit": _audit(seed),
        "model": ModelInfo(
            name="loan-model", hash="0x" + "55" * 32, estimator="LogisticRegression"
        ),
        "dataset": DATASET,
        "policy": POLICY,
        "seeds": {"bootstrap": seed, "training": 7},
        "warnings": ["trained on a sample", "trained on a sample"],
    }
    kwargs.update(overrides)
    return build_report(**kwargs)


def test_same_inputs_give_identical_bytes_and_hash():
    first, second = _report(), _report()
    assert first.canonical_bytes() == second.canonical_bytes()
    assert first.hash == second.hash
    assert first.hash == "0x" + hashlib.sha256(first.canonical_bytes()).hexdigest()


def test_a_different_seed_gives_a_different_hash():
    assert _report(seed=0).hash != _report(seed=1).hash


def test_layout_records_provenance_and_verdict():
    data = _report().data
    assert data["schema_version"] == REPORT_SCHEMA_VERSION
    assert data["kind"] == "training_run"
    assert data["policy"]["snapshot_hash"] == "0x" + "44" * 32
    assert data["model"]["hash"] == "0x" + "55" * 32
    assert data["dataset"]["content_hash"] == "0x" + "11" * 32
    assert data["verdict"] == data["audit"]["verdict"] == "FAIL"
    assert {"python", "numpy", "pandas", "fairlearn", "scikit-learn"} <= set(data["environment"])
    assert data["warnings"].count("trained on a sample") == 1


def test_no_timestamps_or_hostnames_in_the_bytes():
    import socket

    text = _report().canonical_bytes().decode()
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text)
    assert socket.gethostname() not in text
    assert not any("time" in key or "date" in key for key in _report().data)


def test_canonical_round_trip():
    report = _report()
    again = Report.from_bytes(report.canonical_bytes())
    assert again == report
    assert again.hash == report.hash
    assert again.data == report.data


def test_from_bytes_rejects_non_canonical_bytes():
    pretty = json.dumps(_report().data, indent=2, sort_keys=True).encode()
    with pytest.raises(ReportNotCanonical):
        Report.from_bytes(pretty)


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'{"schema_version":"1"}'], ids=["text", "list", "partial"]
)
def test_from_bytes_rejects_what_is_not_a_report(raw: bytes):
    with pytest.raises(InvalidReport):
        Report.from_bytes(raw)


def test_a_bad_run_id_is_refused():
    with pytest.raises(InvalidReport, match="run_id"):
        _report(run_id="0x1234")


def test_worst_violations_puts_the_furthest_past_the_bound_first():
    violations = _report().worst_violations()
    assert [v.metric for v in violations] == ["demographic_parity_difference", "accuracy"]
    assert all(v.verdict == "FAIL" for v in violations)
    assert violations[0].excess > violations[1].excess > 0
    dp = violations[0]
    assert dp.direction == "upper"
    assert dp.bound == 0.1
    assert {g["group"] for g in dp.groups} == {"sex=f", "sex=m"}
    assert sum(g["count"] for g in dp.groups) == 400
    assert len(_report().worst_violations(1)) == 1


def test_inconclusive_checks_come_after_failures():
    rng = np.random.default_rng(1)
    n = 90
    sex = np.array(["a"] * 80 + ["b"] * 10)
    y = rng.integers(0, 2, n)
    pred = np.where(sex == "a", rng.random(n) < 0.8, rng.random(n) < 0.2).astype(int)
    audit = audit_predictions(
        y,
        pred,
        sensitive_features={"sex": sex},
        thresholds=[Threshold("demographic_parity_difference", 0.99), Threshold("accuracy", 0.9)],
        n_boot=20,
    )
    verdicts = [v.verdict for v in _report(audit=audit).worst_violations()]
    assert verdicts == sorted(verdicts, key=lambda v: v != "FAIL")
    assert "INCONCLUSIVE" in verdicts


def test_content_the_typed_model_cannot_read_is_an_invalid_report():
    data = _report().data
    data["audit"]["checks"][0]["threshold"]["direction"] = "sideways"
    report = Report(data)  # the top level is still a report ...
    with pytest.raises(InvalidReport, match=r"audit\.checks\.0\.threshold\.direction"):
        report.model  # noqa: B018 - ... but its checks cannot be read
