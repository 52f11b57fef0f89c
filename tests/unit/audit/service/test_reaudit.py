"""Which approved models a re-audit after a policy change takes, and how: central ones
audited again, external (ONNX) ones scored again, federated ones blocked, and a stored
spec this version no longer reads reported without stopping the others."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from audit.db_models import AuditRunRecord, RunKind
from audit.env import AuditEnv
from audit.service.reaudit import _approved_with_specs
from audit.spec import ModelSpec
from core.db import session_scope
from tests.unit.audit.service.external_rows import external_audit
from tests.unit.audit.test_gate_withdrawals import trained


def test_approved_models_are_sorted_by_the_kind_of_their_stored_spec(
    engine: Engine, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        trained(session, "lr", ModelSpec(name="lr", dataset="loans"), policy_version=4)
        pipe = external_audit(session, "pipe", "loans")
        xgb = external_audit(session, "xgb", "loans", kind=RunKind.REAUDIT, n=2)
        old_hash = trained(session, "old", ModelSpec(name="old", dataset="loans"), policy_version=4)
    with session_scope(engine) as session:
        row = session.exec(select(AuditRunRecord).where(AuditRunRecord.run_id == old_hash)).one()
        row.spec_json = '{"name": "old", "dataset": "loans", "retired_field": 1}'
        session.add(row)
    env = AuditEnv(engine=engine, w3=None, deployment=None, data_dir=tmp_path)  # type: ignore[arg-type]
    approved = _approved_with_specs(env)
    assert [(v.name, s.name) for v, s in approved.central] == [("lr", "lr")]
    assert {v.name: s for v, s in approved.external} == {"pipe": pipe, "xgb": xgb}
    assert approved.federated == []
    ((version, message),) = approved.unreadable
    assert version.name == "old"
    assert message.startswith("not re-audited: invalid model spec: retired_field")
