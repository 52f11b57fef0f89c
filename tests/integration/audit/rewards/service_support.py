"""An approved audit run for the rewards tests: a dataset its provider offered on chain, a
report over it, that report's PASS anchored in the AuditRegistry, and its model version
approved by the gate."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from sqlalchemy import Engine
from web3 import Web3

from audit.anchor import publish_audit
from audit.db_models import AuditRunRecord, RunStatus
from audit.gate import record_audit
from audit.report import Report
from audit.verify import frozen_snapshot
from bias_checks import Verdict
from core.db import session_scope
from governance.chain import deploy
from tests.helpers import allow_raw
from tests.integration.audit.audit_support import AUDITOR_KEY, govern

FIXTURE = (
    Path(__file__).parents[3] / "unit" / "audit" / "fixtures" / "training_pass" / "report.json"
)


def offer_dataset(w3: Web3, deployment: deploy.Deployment, provider_key: str) -> str:
    """Allow a new dataset by proposal with its provider's signed offer; its id."""
    name = f"loans-{secrets.token_hex(4)}"
    action = allow_raw(
        w3, deployment, name, "0x" + "12" * 32, "0x" + "34" * 32, "file:loans.csv", provider_key
    )
    govern(w3, deployment, [action], f"allow {name}")
    return action.offer.dataset_id


def approved_run(
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    dataset_id: str,
    *,
    model_name: str = "loans-lr",
) -> AuditRunRecord:
    """A completed training run of ``model_name`` whose PASS is anchored, over ``dataset_id``
    (1,234 rows), audited under the policy on chain now (as a real run freezes it)."""
    data = json.loads(FIXTURE.read_bytes())
    run_id = "0x" + secrets.token_hex(32)
    data["run_id"] = run_id
    data["dataset"] |= {"dataset_id": dataset_id, "rows": 1_234}
    snapshot = frozen_snapshot(w3, deployment.addresses.training_policy)
    data["policy"] |= {
        "block_hash": snapshot.block_hash,
        "block_number": snapshot.block_number,
        "chain_id": snapshot.chain_id,
        "policy_address": snapshot.policy,
        "snapshot_hash": snapshot.hash,
        "version": snapshot.policy_version,
    }
    report = Report(data)
    directory = tmp_path / "reports" / run_id
    directory.mkdir(parents=True)
    (directory / "report.json").write_bytes(report.canonical_bytes())
    model_hash, policy = data["model"]["hash"], data["policy"]
    anchor = publish_audit(
        w3,
        deployment.addresses.audit_registry,
        AUDITOR_KEY,
        run_id=run_id,
        model_hash=model_hash,
        dataset_id=dataset_id,
        report_hash=report.hash,
        policy_version=policy["version"],
        passed=True,
    )
    row = AuditRunRecord(
        run_id=run_id,
        model_name=model_name,
        dataset_name="loans",
        dataset_id=dataset_id,
        status=RunStatus.COMPLETED,
        spec_json=json.dumps({"name": model_name, "dataset": "loans"}),
        chain_id=deployment.chain_id,
        policy_version=policy["version"],
        policy_block=policy["block_number"],
        policy_snapshot_hash=policy["snapshot_hash"],
        model_hash=model_hash,
        report_hash=report.hash,
        verdict=Verdict.PASS,
        report_dir=str(directory),
        anchor_tx=anchor.tx_hash,
    )
    with session_scope(engine) as session:
        session.add(row)
        record_audit(
            session,
            name=row.model_name,
            model_hash=model_hash,
            artifact_path=str(directory / "model.skops"),
            run_id=run_id,
            verdict=Verdict.PASS,
            anchored=True,
            policy_version=policy["version"],
        )
    return row
