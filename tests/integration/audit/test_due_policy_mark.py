"""``audit_all`` decides "up to date" by the policy a run was audited under, not by its version
number: after a rollback a later proposal can make the same number with other rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.manifest import DatasetManifest
from audit.service import due_for_audit
from audit.spec import ModelSpec
from audit.verify import frozen_snapshot
from core.db import session_scope
from governance.chain.deploy import Deployment
from governance.policy.snapshot import PolicySnapshot
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)

pytestmark = pytest.mark.chain
SPEC = ModelSpec(name="loans-lr", dataset="loans", n_boot=50)


def _completed_run(
    engine: Engine, w3: Web3, deployment: Deployment, manifest: DatasetManifest
) -> PolicySnapshot:
    """A completed training run of :data:`SPEC` on ``manifest``, under the policy a run
    started now freezes (as :func:`audit.runs.run_audit` records it)."""
    snapshot = frozen_snapshot(w3, deployment.addresses.training_policy)
    with session_scope(engine) as session:
        session.add(
            AuditRunRecord(
                run_id="0x" + "ef" * 32,
                kind=RunKind.TRAINING_RUN,
                model_name=SPEC.name,
                dataset_name=manifest.name,
                dataset_id=manifest.dataset_id,
                status=RunStatus.COMPLETED,
                spec_json=SPEC.canonical_json().decode(),
                chain_id=snapshot.chain_id,
                policy_version=snapshot.policy_version,
                policy_block=snapshot.block_number,
                policy_snapshot_hash=snapshot.hash,
                content_hash=manifest.sha256,
            )
        )
    return snapshot


def test_a_run_under_a_rolled_back_policy_is_due_though_the_version_number_is_back(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    w3 = isolated_chain
    env = audit_env(engine, w3, deployment, tmp_path)
    manifest = register_loans(engine, tmp_path)
    actions = [signed_offer(w3, deployment, manifest), dp_threshold("0.2"), mitigate()]
    govern(w3, deployment, actions, "allow loans with mitigation")
    before = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    govern(w3, deployment, [dp_threshold("0.3")], "a bound the rollback takes away")
    audited = _completed_run(engine, w3, deployment, manifest)
    plan = due_for_audit(env)
    assert plan.due == ()
    assert plan.notes == (f"loans-lr: up to date (policy version {audited.policy_version})",)

    w3.provider.make_request("evm_revert", [before])  # type: ignore[arg-type]
    govern(w3, deployment, [dp_threshold("0.9")], "the same version number, another bound")
    now = frozen_snapshot(w3, deployment.addresses.training_policy)
    assert now.policy_version == audited.policy_version
    assert now.hash != audited.hash

    plan = due_for_audit(env)
    assert [s.name for s in plan.due] == ["loans-lr"], plan.notes
    assert plan.notes == ()
