"""A signed bound voted on chain (issue #17): statistical_parity_difference >= -0.1 is
proposed, voted and executed on anvil, reads back as -0.1 exactly from state, events and the
index, and a governed audit judges the model against it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.report_model import ReportModel
from audit.service import run_audit
from audit.spec import ModelSpec
from governance.actions import SetThreshold
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.index.indexer import Indexer
from governance.policy import history as policy_history
from governance.policy.snapshot import ThresholdEntry, read_snapshot
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import audit_env, govern, register_loans

pytestmark = [pytest.mark.chain, pytest.mark.slow]

SPD = "statistical_parity_difference"
SPEC = ModelSpec(name="loans-lr", dataset="loans", n_boot=50)


def floor(bound: str) -> SetThreshold:
    return SetThreshold(metric=SPD, value=Decimal(bound), direction="lower")


def _spd_check(report_dir: Path) -> dict[str, Any]:
    report = ReportModel.from_data(json.loads((report_dir / "report.json").read_text("utf-8")))
    (check,) = [c for c in report.audit.checks if c.threshold.metric == SPD]
    return check.model_dump(mode="json")


def test_a_negative_bound_is_voted_read_back_exactly_and_judged(
    isolated_chain: Web3, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    manifest = register_loans(engine, tmp_path)
    offer = signed_offer(isolated_chain, deployment, manifest)
    govern(isolated_chain, deployment, [offer, floor("-0.1")], "allow loans; SPD >= -0.1")

    policy = deployment.addresses.training_policy
    on_chain = bind(isolated_chain, "TrainingPolicy", policy).functions
    metric = SPD.encode().ljust(32, b"\0")
    assert on_chain.getThreshold(metric).call() == (-100_000, 1)
    expected = ThresholdEntry(metric=SPD, value="-0.100000", direction="lower")
    snap = read_snapshot(isolated_chain, policy)
    assert snap.thresholds == (expected,)
    assert snap.thresholds[0].decimal == Decimal("-0.1")
    assert policy_history.policy_at(isolated_chain, policy, block=snap.block_number) == snap
    Indexer(engine, isolated_chain, deployment).sync()
    with Session(engine) as session:
        indexed = policy_history.changes_from_index(session, up_to_block=snap.block_number)
    assert policy_history.replay(indexed).thresholds == {SPD: expected}

    run = run_audit(audit_env(engine, isolated_chain, deployment, tmp_path / "strict"), SPEC)
    check = _spd_check(run.report_dir)
    assert check["threshold"]["bound"] == -0.1
    assert check["threshold"]["direction"] == "lower"
    # The synthetic loans are biased against group B: its selection rate lies well below the
    # reference group's, so the whole interval is below -0.1.
    assert check["ci"]["high"] < -0.1
    assert (check["verdict"], run.verdict) == ("FAIL", "FAIL")

    # Lowering a lower bound loosens the policy; with every holder for it, it passes.
    govern(isolated_chain, deployment, [floor("-1")], "SPD >= -1")
    assert read_snapshot(isolated_chain, policy).thresholds[0].value == "-1.000000"
    loose = run_audit(audit_env(engine, isolated_chain, deployment, tmp_path / "loose"), SPEC)
    assert _spd_check(loose.report_dir)["threshold"]["bound"] == -1.0
    assert _spd_check(loose.report_dir)["verdict"] == "PASS"
