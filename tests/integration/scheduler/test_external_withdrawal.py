"""A provider withdraws the dataset an external (ONNX) model was audited on: the gate blocks
the model from the sync that indexes the withdrawal, a re-audit on the withdrawn data is
refused, a re-audit on an allowed dataset approves it again, and a reorganisation that drops
the withdrawal gives the approval back. Real anvil, real provider keys, real ONNX scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from audit.db_models import AuditRunRecord, ModelStatus, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import DatasetNotAllowed
from audit.external import ExternalAuditSpec, reaudit_external, register_onnx, run_external_audit
from audit.gate import REAUDIT_ELSEWHERE, WITHDRAWN_AUDIT_DATA, require_approved
from bias_checks import Verdict
from core.db import session_scope
from governance.chain.deploy import Deployment
from scheduler import jobs
from scheduler.jobs import run_job
from tests.helpers import PROVIDER_KEY, Governance
from tests.integration.scheduler.test_jobs import make_context, runs
from tests.integration.scheduler.test_withdrawal import allow_two_providers, refusal
from tests.unit.audit.external import onnx_models as models

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture
def gov(isolated_chain, deployment: Deployment) -> Governance:  # type: ignore[no-untyped-def]
    return Governance(isolated_chain, deployment)


def _approved_on_a(env: AuditEnv) -> ExternalAuditSpec:
    onnx = models.sklearn_pipeline(*models.loans(3000, seed=7)).data
    model = register_onnx(env, name="pipe", data=onnx)
    spec = ExternalAuditSpec(name="pipe", model_hash=model.model_hash, dataset="loans-a")
    run = run_external_audit(env, spec)
    assert (run.verdict, run.model_status) == (Verdict.PASS, ModelStatus.APPROVED)
    return spec


def test_a_withdrawal_blocks_an_external_model_until_a_reaudit_on_allowed_data(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    ctx = make_context(engine, gov.w3, deployment, tmp_path)
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        spec = _approved_on_a(ctx.audit)
        gov.send(PROVIDER_KEY, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:]))
        run_job("sync_chain")
        assert "blocked, audited on withdrawn data: pipe" in runs(engine, "sync_chain")[-1].detail
        blocked = refusal(engine, spec.model_hash)
        assert blocked.details["status"] == ModelStatus.BLOCKED
        reason = blocked.details["reason"]
        assert reason.startswith(f"{WITHDRAWN_AUDIT_DATA}: dataset 'loans-a' ({a.dataset_id})")
        assert reason.endswith(REAUDIT_ELSEWHERE)

        with pytest.raises(DatasetNotAllowed):  # no re-audit on the withdrawn data
            reaudit_external(ctx.audit, spec)
        assert refusal(engine, "pipe").details["status"] == ModelStatus.BLOCKED

        elsewhere = spec.model_copy(update={"dataset": "loans-b"})
        again = run_external_audit(ctx.audit, elsewhere)
        assert (again.verdict, again.model_status) == (Verdict.PASS, ModelStatus.APPROVED)
        run_job("sync_chain")
    with session_scope(engine) as session:
        assert require_approved(session, "pipe").latest_run_id == again.run_id
        kinds = session.exec(
            select(AuditRunRecord.kind, AuditRunRecord.status, AuditRunRecord.dataset_name)
            .where(AuditRunRecord.model_name == "pipe")
            .order_by(AuditRunRecord.id)  # type: ignore[arg-type]
        ).all()
    assert list(kinds) == [
        (RunKind.EXTERNAL, RunStatus.COMPLETED, "loans-a"),
        (RunKind.REAUDIT, RunStatus.REFUSED, "loans-a"),
        (RunKind.EXTERNAL, RunStatus.COMPLETED, "loans-b"),
    ]


def test_a_withdrawal_a_reorg_dropped_gives_the_external_model_its_approval_back(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    ctx = make_context(engine, gov.w3, deployment, tmp_path)
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        spec = _approved_on_a(ctx.audit)
        before = gov.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        gov.send(PROVIDER_KEY, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:]))
        run_job("sync_chain")
        assert refusal(engine, "pipe").details["status"] == ModelStatus.BLOCKED

        gov.w3.provider.make_request("evm_revert", [before])  # type: ignore[arg-type]
        for _ in range(3):
            gov.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        run_job("sync_chain")
    with session_scope(engine) as session:
        version = require_approved(session, spec.model_hash)
    assert version.status == ModelStatus.APPROVED
    assert version.reason is not None
    assert version.reason.endswith("the withdrawal that blocked it is no longer on the chain")
