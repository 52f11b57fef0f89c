"""Retraining after a withdrawal leaves external (ONNX) models alone: fairgov did not train
them and cannot retrain them. The gate blocks them until a re-audit on an allowed dataset."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from audit.db_models import ModelStatus, ModelVersion
from audit.env import AuditEnv
from audit.gate import NOTHING_LEFT_TO_RETRAIN, REAUDIT_ELSEWHERE, WITHDRAWN_AUDIT_DATA
from audit.service import retrain_after_withdrawal
from audit.spec import ModelSpec
from core.db import session_scope
from tests.unit.audit.service.external_rows import external_audit
from tests.unit.audit.test_gate_withdrawals import trained, withdrawn


def test_a_withdrawal_retrains_central_models_only(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        trained(session, "lr", ModelSpec(name="lr", dataset="loans"), policy_version=4)
        spec = external_audit(session, "pipe", "loans")
        withdrawn(session, "loans", 5)
    env = AuditEnv(engine=engine, w3=None, deployment=None, data_dir=tmp_path)  # type: ignore[arg-type]
    # Only the central model is considered; with nothing left to train on, nothing runs
    # (no chain is reachable here: a run would raise).
    (only,) = retrain_after_withdrawal(env)
    assert (only.model_name, only.status, only.reason) == (
        "lr",
        ModelStatus.BLOCKED,
        NOTHING_LEFT_TO_RETRAIN,
    )
    with session_scope(engine) as session:
        versions = {v.name: v for v in session.exec(select(ModelVersion)).all()}
    assert versions["pipe"].model_hash == spec.model_hash
    assert versions["pipe"].status == ModelStatus.BLOCKED  # by the gate, not retrained
    reason = versions["pipe"].reason
    assert reason is not None
    assert reason.startswith(WITHDRAWN_AUDIT_DATA)
    assert reason.endswith(REAUDIT_ELSEWHERE)
