"""External (ONNX) models across policy changes, on a real chain: re-audited by fairgov
after a vote, skipped by the due audits and withdrawal retraining (fairgov cannot train
them)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.db_models import AuditRunRecord, ModelStatus, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import ModelNotApproved
from audit.external import ExternalAuditSpec, register_onnx, run_external_audit
from audit.gate import require_approved
from audit.impact import JudgedFrom, VerdictChange, full_preview, preview_draft
from audit.service import due_for_audit, reaudit_after_policy_change, run_audit
from audit.spec import ModelSpec
from bias_checks import Verdict
from core.db import session_scope
from governance.actions import RevokeDataset, SetEvidenceRule, dataset_id_of
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)
from tests.unit.audit.external import onnx_models as models

pytestmark = [
    pytest.mark.chain,
    pytest.mark.slow,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]


@pytest.fixture
def approved(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> tuple[AuditEnv, ExternalAuditSpec]:
    """loans allowed with a loose dp <= 0.5 (and mitigation, for the central model); a
    central model and an external one (a pipeline biased enough to fail dp <= 0.1), both
    approved."""
    manifest = register_loans(engine, tmp_path)
    actions = [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.5"), mitigate()]
    govern(isolated_chain, deployment, actions, "allow loans, dp <= 0.5, mitigate")
    env = audit_env(engine, isolated_chain, deployment, tmp_path / "data")
    central = run_audit(env, ModelSpec(name="loans-lr", dataset="loans", n_boot=0))
    assert central.model_status == ModelStatus.APPROVED
    onnx = models.sklearn_pipeline(*models.loans(3000, seed=7)).data
    model = register_onnx(env, name="loans-pipe", data=onnx)
    spec = ExternalAuditSpec(name="loans-pipe", model_hash=model.model_hash, dataset="loans")
    external = run_external_audit(env, spec)
    assert (external.verdict, external.model_status) == (Verdict.PASS, ModelStatus.APPROVED)
    return env, spec


def _runs(env: AuditEnv, name: str) -> list[AuditRunRecord]:
    with session_scope(env.engine) as session:
        query = select(AuditRunRecord).where(AuditRunRecord.model_name == name)
        return list(session.exec(query).all())


def test_a_tighter_threshold_reaudits_and_blocks_an_approved_external_model(
    approved: tuple[AuditEnv, ExternalAuditSpec],
) -> None:
    env, spec = approved
    govern(env.w3, env.deployment, [dp_threshold("0.1")], "stricter parity")
    outcomes = {o.model_name: o for o in reaudit_after_policy_change(env)}
    assert set(outcomes) == {"loans-lr", "loans-pipe"}
    central = outcomes["loans-lr"]  # the central model's re-audit still ran, and passed
    assert (central.status, central.reason) == (ModelStatus.APPROVED, Verdict.PASS)
    assert central.run_id is not None
    external = outcomes["loans-pipe"]
    assert (external.status, external.reason) == (ModelStatus.BLOCKED, Verdict.FAIL)
    assert external.model_hash == spec.model_hash
    (reaudit,) = [r for r in _runs(env, "loans-pipe") if r.kind == RunKind.REAUDIT]
    assert (reaudit.run_id, reaudit.status) == (external.run_id, RunStatus.COMPLETED)
    assert json.loads(reaudit.spec_json)["model_hash"] == spec.model_hash
    assert reaudit.model_hash == spec.model_hash
    assert reaudit.report_dir is not None
    report = json.loads((Path(reaudit.report_dir) / "report.json").read_bytes())
    assert report["kind"] == "reaudit"
    assert report["model"]["external"]["kind"] == "external_onnx"
    with session_scope(env.engine) as session, pytest.raises(ModelNotApproved):
        require_approved(session, spec.model_hash)


def test_the_impact_preview_rescores_an_external_model_and_never_retrains_it(
    approved: tuple[AuditEnv, ExternalAuditSpec],
) -> None:
    env, _ = approved
    # A new evidence rule: the stored intervals no longer apply, so the audit is recomputed;
    # a new mitigation: the central model would be retrained, the external one cannot be.
    draft = [
        SetEvidenceRule(confidence_level=Decimal("0.99")),
        dp_threshold("0.1"),
        mitigate("exponentiated_gradient"),
    ]
    preview = preview_draft(env, draft)
    impacts = {m.model_name: m for m in preview.models}
    assert set(impacts) == {"loans-lr", "loans-pipe"}
    assert impacts["loans-lr"].needs_full_preview  # retrained with the new mitigation
    external = impacts["loans-pipe"]
    assert (external.judged_from, external.needs_full_preview) == (JudgedFrom.RECOMPUTED, False)
    assert (external.previewed_verdict, external.previewed_status) == (
        Verdict.FAIL,
        ModelStatus.BLOCKED,
    )
    assert external.change == VerdictChange.PASS_TO_FAIL
    assert any("not applied to this external model" in r for r in external.reasons)
    (full,) = full_preview(env, preview, models=["loans-pipe"]).models
    assert (full.retrained, full.verdict, full.agrees_with_quick) == (False, Verdict.FAIL, True)

    govern(env.w3, env.deployment, draft, "stricter rule, parity and mitigation")
    outcomes = {o.model_name: o for o in reaudit_after_policy_change(env)}
    assert (outcomes["loans-pipe"].status, outcomes["loans-pipe"].reason) == (
        ModelStatus.BLOCKED,
        Verdict.FAIL,
    )


def test_a_revoked_dataset_blocks_an_external_model_at_its_reaudit_and_it_is_never_due(
    approved: tuple[AuditEnv, ExternalAuditSpec],
) -> None:
    env, spec = approved
    plan = due_for_audit(env)
    assert plan.due == ()  # the central model is up to date; the external one is never due
    assert [n for n in plan.notes if n.startswith("loans-pipe")] == []

    revoke = RevokeDataset(dataset_id=dataset_id_of("loans"))
    govern(env.w3, env.deployment, [revoke], "revoke loans")
    outcomes = {o.model_name: o for o in reaudit_after_policy_change(env)}
    external = outcomes["loans-pipe"]
    assert (external.status, external.run_id) == (ModelStatus.BLOCKED, None)
    assert external.reason.startswith("re-audit refused: ")
    assert outcomes["loans-lr"].status == ModelStatus.BLOCKED  # refused the same way
    (refused,) = [r for r in _runs(env, "loans-pipe") if r.kind == RunKind.REAUDIT]
    assert refused.status == RunStatus.REFUSED
    assert json.loads(refused.spec_json) == json.loads(spec.canonical_json())
    with session_scope(env.engine) as session, pytest.raises(ModelNotApproved):
        require_approved(session, spec.model_hash)
