"""Re-auditing the approved models after the policy changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlmodel import col, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion
from audit.env import AuditEnv
from audit.external import (
    ExternalAuditSpec,
    is_external_spec,
    parse_external_spec,
    reaudit_external,
)
from audit.gate import approved_versions, block, enforce_withdrawals
from audit.publish import AuditRun
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


@dataclass(frozen=True)
class _Approved:
    """The approved models by kind of spec: central ones (re-audited as they are), external
    ones (scored again from their registered file), federated ones with the policy
    version they were audited under, and those whose stored spec no longer reads."""

    central: list[tuple[ModelVersion, ModelSpec]] = field(default_factory=list)
    external: list[tuple[ModelVersion, ExternalAuditSpec]] = field(default_factory=list)
    federated: list[tuple[ModelVersion, int]] = field(default_factory=list)
    unreadable: list[tuple[ModelVersion, str]] = field(default_factory=list)


def _approved_with_specs(env: AuditEnv) -> _Approved:
    """Every approved model with the spec of its latest run, sorted by kind of spec (a
    stored spec this version no longer reads is listed as unreadable, not raised: the
    other models are still re-audited)."""
    approved = _Approved()
    with session_scope(env.engine) as session:
        enforce_withdrawals(session)  # a model trained on withdrawn data is not re-audited
        for version in approved_versions(session):
            run = session.exec(
                select(AuditRunRecord)
                .where(AuditRunRecord.run_id == version.latest_run_id)
                .order_by(col(AuditRunRecord.id).desc())
            ).first()
            if run is None:
                continue
            data = json.loads(run.spec_json)
            try:
                if is_federated(data):
                    approved.federated.append((version, run.policy_version))
                elif is_external_spec(data):
                    approved.external.append((version, parse_external_spec(data)))
                else:
                    approved.central.append((version, parse_spec(data)))
            except FairgovError as exc:  # a spec this version no longer reads
                approved.unreadable.append((version, f"not re-audited: {exc.message}"))
    return approved


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
    errors for another reason leaves the model's status alone and reports the error. An
    external (ONNX) model is scored again from its registered file on its voted dataset
    with its stored spec (:func:`audit.external.reaudit_external`), and is gated the same
    way. A federated model audited under an older policy version is blocked: only its
    nodes can re-audit it (``fairgov audit federated``), and it must not stay approved
    unaudited.

    Examples
    --------
    >>> outcomes = reaudit_after_policy_change(env)  # doctest: +SKIP
    >>> [o.status for o in outcomes]  # doctest: +SKIP
    ['blocked']
    """
    approved = _approved_with_specs(env)
    outcomes = _block_federated(env, approved.federated)
    outcomes += [
        Reaudit(version.name, version.model_hash, ModelStatus(version.status), None, message)
        for version, message in approved.unreadable
    ]
    for version, spec in approved.central:
        run = partial(reaudit_model, env, version, spec, progress=progress)
        outcomes.append(_reaudit_one(env, version, spec.name, run))
    for version, external in approved.external:
        run = partial(reaudit_external, env, external, progress=progress)
        outcomes.append(_reaudit_one(env, version, external.name, run))
    return outcomes


def _reaudit_one(
    env: AuditEnv, version: ModelVersion, name: str, run: Callable[[], AuditRun]
) -> Reaudit:
    """Run one re-audit: a refused run blocks the model, another error leaves its status
    alone and is reported."""
    try:
        outcome = run()
    except REFUSALS as exc:
        reason = f"re-audit refused: {exc.message}"
        with session_scope(env.engine) as session:
            current = session.get(ModelVersion, version.id)
            assert current is not None
            block(session, current, reason)
        return Reaudit(name, version.model_hash, ModelStatus.BLOCKED, None, reason)
    except FairgovError as exc:
        return Reaudit(name, version.model_hash, ModelStatus(version.status), None, exc.message)
    return Reaudit(name, outcome.model_hash, outcome.model_status, outcome.run_id, outcome.verdict)
