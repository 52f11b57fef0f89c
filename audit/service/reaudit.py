"""Re-auditing the approved models after the policy changed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import col, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion
from audit.env import AuditEnv
from audit.gate import approved_versions, block, enforce_withdrawals
from audit.runs import REFUSALS, Progress, reaudit_model
from audit.spec import ModelSpec, parse_spec
from core.db import session_scope
from core.errors import FairgovError


@dataclass(frozen=True)
class Reaudit:
    """What a re-audit decided for one previously approved model."""

    model_name: str
    model_hash: str
    status: ModelStatus
    run_id: str | None
    reason: str


def _approved_with_specs(env: AuditEnv) -> list[tuple[ModelVersion, ModelSpec]]:
    with session_scope(env.engine) as session:
        enforce_withdrawals(session)  # a model trained on withdrawn data is not re-audited
        work = []
        for version in approved_versions(session):
            run = session.exec(
                select(AuditRunRecord)
                .where(AuditRunRecord.run_id == version.latest_run_id)
                .order_by(col(AuditRunRecord.id).desc())
            ).first()
            if run is not None:
                work.append((version, parse_spec(json.loads(run.spec_json))))
    return work


def reaudit_after_policy_change(
    env: AuditEnv, *, progress: Progress | None = None
) -> list[Reaudit]:
    """Re-audit every approved model under the current policy; demote those that fail.

    Each model file is audited as it is (not retrained) on its own held-out split. A FAIL
    blocks it, and so does a refused run (its dataset was revoked or changed). A run that
    errors for another reason leaves the model's status alone and reports the error.

    Examples
    --------
    >>> outcomes = reaudit_after_policy_change(env)  # doctest: +SKIP
    >>> [o.status for o in outcomes]  # doctest: +SKIP
    ['blocked']
    """
    outcomes = []
    for version, spec in _approved_with_specs(env):
        try:
            outcome = reaudit_model(env, version, spec, progress=progress)
        except REFUSALS as exc:
            reason = f"re-audit refused: {exc.message}"
            with session_scope(env.engine) as session:
                current = session.get(ModelVersion, version.id)
                assert current is not None
                block(session, current, reason)
            outcomes.append(
                Reaudit(spec.name, version.model_hash, ModelStatus.BLOCKED, None, reason)
            )
            continue
        except FairgovError as exc:
            status = ModelStatus(version.status)
            outcomes.append(Reaudit(spec.name, version.model_hash, status, None, exc.message))
            continue
        outcomes.append(
            Reaudit(
                spec.name,
                outcome.model_hash,
                outcome.model_status,
                outcome.run_id,
                outcome.verdict,
            )
        )
    return outcomes
