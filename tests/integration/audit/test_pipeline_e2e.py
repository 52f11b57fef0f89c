"""The whole governed loop on anvil: vote, verify, train, audit, report, anchor, verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.db_models import AuditRunRecord
from audit.errors import DatasetHashMismatch, DatasetNotAllowed
from audit.publish import AuditRun
from audit.service import require_approved, run_audit
from audit.spec import ModelSpec
from audit.verify import verify_report
from core.db import session_scope
from governance.actions import RevokeDataset
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import (
    DP,
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _dp(report_dir: Path) -> float:
    data = json.loads((report_dir / "report.json").read_bytes())
    (check,) = [c for c in data["audit"]["checks"] if c["threshold"]["metric"] == DP]
    return float(check["value"])


def test_governed_pipeline_end_to_end(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    w3 = isolated_chain
    registry = deployment.addresses.audit_registry
    manifest = register_loans(engine, tmp_path)
    govern(
        w3,
        deployment,
        [signed_offer(w3, deployment, manifest), dp_threshold("0.1")],
        "allow loans, dp<=0.1",
    )
    spec = ModelSpec(name="loans-lr", dataset="loans")
    data_dir = tmp_path / "data"

    def run() -> AuditRun:
        return run_audit(audit_env(engine, w3, deployment, data_dir), spec)

    unmitigated = run()
    assert unmitigated.verdict == "FAIL"
    assert _dp(unmitigated.report_dir) > 0.2
    assert unmitigated.model_status == "blocked"
    assert verify_report(w3, registry, (unmitigated.report_dir / "report.json").read_bytes()).ok

    govern(w3, deployment, [mitigate()], "mitigate with ThresholdOptimizer(demographic_parity)")
    mitigated = run()
    assert mitigated.verdict == "PASS"
    assert _dp(mitigated.report_dir) < 0.05
    assert mitigated.anchor.passed
    assert mitigated.model_status == "approved"
    report_bytes = (mitigated.report_dir / "report.json").read_bytes()
    verification = verify_report(w3, registry, report_bytes)
    assert verification.status == "verified"
    assert verification.policy_version == mitigated.policy_version
    with session_scope(engine) as session:
        assert require_approved(session, "loans-lr").model_hash == mitigated.model_hash

    tampered = report_bytes.replace(b'"verdict":"PASS"', b'"verdict":"PASX"', 1)
    assert verify_report(w3, registry, tampered).status == "hash_mismatch"

    path = manifest.local_path()
    original = path.read_bytes()
    path.write_bytes(original.replace(b",B,0\n", b",B,1\n", 1))  # one approval flipped
    models_before = sorted((data_dir / "models").rglob("*.skops"))
    with pytest.raises(DatasetHashMismatch):
        run()
    assert sorted((data_dir / "models").rglob("*.skops")) == models_before
    path.write_bytes(original)

    govern(w3, deployment, [RevokeDataset(dataset_id=manifest.dataset_id)], "revoke loans")
    with pytest.raises(DatasetNotAllowed):
        run()
    with session_scope(engine) as session:
        statuses = [r.status for r in session.exec(select(AuditRunRecord)).all()]
        codes = [r.error_code for r in session.exec(select(AuditRunRecord)).all()]
    assert statuses == ["completed", "completed", "refused", "refused"]
    assert codes == [None, None, "dataset_hash_mismatch", "dataset_not_allowed"]
