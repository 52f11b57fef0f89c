"""Two audited models for impact preview tests: one mitigated (PASS), one plain (FAIL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.db_models import ModelVersion
from audit.env import AuditEnv
from audit.publish import AuditRun
from audit.runs import reaudit_model, run_audit
from audit.spec import ModelSpec
from core.db import session_scope
from governance.actions import SetMitigation
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)

FAIR = ModelSpec(name="loans-fair", dataset="loans", n_boot=20)
PLAIN = ModelSpec(name="loans-plain", dataset="loans", n_boot=20)
SPECS = {FAIR.name: FAIR, PLAIN.name: PLAIN}


@dataclass(frozen=True)
class TwoModels:
    env: AuditEnv
    fair: AuditRun
    plain: AuditRun


def two_audited_models(
    w3: Web3, deployment: Deployment, engine: Engine, data_dir: Path
) -> TwoModels:
    """``loans-fair`` trained with threshold_optimizer and ``loans-plain`` without mitigation,
    both audited under demographic parity <= 0.1."""
    manifest = register_loans(engine, data_dir)
    govern(
        w3,
        deployment,
        [signed_offer(w3, deployment, manifest), dp_threshold("0.1"), mitigate()],
        "setup",
    )
    env = audit_env(engine, w3, deployment, data_dir)
    fair = run_audit(env, FAIR)
    govern(w3, deployment, [SetMitigation(strategy="none")], "no mitigation")
    plain = run_audit(env, PLAIN)
    return TwoModels(env, fair, plain)


def reaudit_all(env: AuditEnv) -> dict[str, AuditRun]:
    """What really happens to every model version after the policy changed: each is
    audited again under the current policy (not only the approved ones, as the scheduler's
    re-audit does, so that a blocked model's new verdict is seen too)."""
    with session_scope(env.engine) as session:
        versions = list(session.exec(select(ModelVersion)).all())
        session.expunge_all()
    return {v.name: reaudit_model(env, v, SPECS[v.name]) for v in versions}
