"""Re-auditing the approved models after the policy changed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import col, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion
from audit.env import AuditEnv
from audit.gate import approved_versions, block, enforce_withdrawals
from audit.runs import REFUSALS, Progress, reaudit_model
from audit.spec import ModelSpec, is_federated, parse_spec
from core.db import session_scope
from core.errors import FairgovError
from governance.index.read import latest_policy_version


@dataclass(frozen=True)
class Reaudit:
    """What a re-audit decided for one previously approved model."""

    model_name: str
    model_hash: str
    status: ModelStatus
    run_id: str | None
    reason: str


#: Why a federated model is blocked after a policy change: only its nodes can re-audit it.
FEDERATED_REAUDIT = (
    "the policy changed after this federated model's audit (policy version {then} -> {now}); "
    "only its nodes can re-audit it: run `fairgov audit federated` on its spec"
)


def _approved_with_specs(
    env: AuditEnv,
) -> tuple[list[tuple[ModelVersion, ModelSpec]], list[tuple[ModelVersion, int]]]:
    """The approved central models with their specs, and the approved federated models
    with the policy version they were audited under."""
    with session_scope(env.engine) as session:
        enforce_withdrawals(session)  # a model trained on withdrawn data is not re-audited
        work = []
        federated = []
        for version in approved_versions(session):
            run = session.exec(
                select(AuditRunRecord)
                .where(AuditRunRecord.run_id == version.latest_run_id)
                .order_by(col(AuditRunRecord.id).desc())
            ).first()
            if run is None:
                continue
            data = json.loads(run.spec_json)
            if is_federated(data):
                federated.append((version, run.policy_version))
            else:
                work.append((version, parse_spec(data)))
    return work, federated


def _block_federated(env: AuditEnv, federated: list[tuple[ModelVersion, int]]) -> list[Reaudit]:
    """Block each approved federated model audited under an older policy version: the
    scheduler cannot reach its nodes, and a model must not stay approved unaudited."""
    outcomes = []
    with session_scope(env.engine) as session:
        now = latest_policy_version(session)
        for version, then in federated:
            if then >= now:
                continue
            current = session.get(ModelVersion, version.id)
            assert current is not None
            reason = FEDERATED_REAUDIT.format(then=then, now=now)
            block(session, current, reason)
            outcomes.append(
                Reaudit(version.name, version.model_hash, ModelStatus.BLOCKED, None, reason)
            )
    return outcomes


def reaudit_after_policy_change(
    env: AuditEnv, *, progress: Progress | None = None
) -> list[Reaudit]:
    """Re-audit every approved model under the current policy; demote those that fail.

    Each model file is audited as it is (not retrained) on its own held-out split. A FAIL
    blocks it, and so does a refused run (its dataset was revoked or changed). A run that
    errors for another reason leaves the model's status alone and reports the error. A
    federated model audited under an older policy version is blocked: only its nodes can
    re-audit it (``fairgov audit federated``), and it must not stay approved unaudited.

    Examples
    --------
    >>> outcomes = reaudit_after_policy_change(env)  # doctest: +SKIP
    >>> [o.status for o in outcomes]  # doctest: +SKIP
    ['blocked']
    """
    central, federated = _approved_with_specs(env)
    outcomes = _block_federated(env, federated)
    for version, spec in central:
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
