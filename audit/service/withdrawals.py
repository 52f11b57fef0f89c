"""Retraining the models a withdrawal blocked, on the datasets that remain.

When a provider withdraws a dataset (or a vote revokes it), the gate blocks every model
version trained on it (:func:`audit.gate.enforce_withdrawals`). For each model whose latest
version is blocked that way, :func:`retrain_after_withdrawal` trains the model again on the
datasets its spec names that were not withdrawn, in the spec's order, and audits it: a new
run and, once it passes, a new approved version. Its report's ``retraining`` block names
each withdrawal (dataset, provider or vote, block, policy version, transaction) and the run
it replaces. A model none of whose datasets remains stays blocked, and says so.

External (ONNX) models are left alone: fairgov did not train them and cannot retrain them
(:func:`audit.gate.current_versions` reads training runs only). A withdrawal changes the
policy version, so the re-audit that follows it (:mod:`audit.service.reaudit`) is refused
on the withdrawn data and blocks them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlmodel import Session

from audit.db_models import ModelStatus
from audit.env import AuditEnv
from audit.gate import (
    NOTHING_LEFT_TO_RETRAIN,
    current_versions,
    enforce_withdrawals,
    trained_on,
    withdrawals_since,
)
from audit.report_model import RetrainingInfo
from audit.runs import Progress, run_audit
from audit.spec import ModelSpec
from core.db import session_scope
from core.errors import FairgovError


@dataclass(frozen=True)
class Retraining:
    """What :func:`retrain_after_withdrawal` did for one model blocked by a withdrawal.

    ``status`` is the new version's gate status, or ``blocked`` when nothing was trained
    (no dataset remains, or the run raised: ``error_code`` says which).
    """

    model_name: str
    replaced_model_hash: str
    status: ModelStatus
    run_id: str | None
    reason: str
    error_code: str | None = None


@dataclass(frozen=True)
class _Blocked:
    name: str
    spec: ModelSpec
    retraining: RetrainingInfo


def _blocked_by_withdrawal(session: Session) -> list[_Blocked]:
    work = []
    for version, run in current_versions(session):
        if version.status != ModelStatus.BLOCKED:
            continue
        withdrawn = withdrawals_since(session, run)
        if not withdrawn:
            continue
        gone = {w.dataset_id for w in withdrawn}
        remaining = [name for dataset_id, name in trained_on(run).items() if dataset_id not in gone]
        try:
            spec = ModelSpec.model_validate_json(run.spec_json)
        except ValidationError:
            continue  # a spec this version no longer reads: nothing to retrain from
        info = RetrainingInfo(
            replaces_run_id=run.run_id,
            replaces_model_hash=version.model_hash,
            withdrawn=withdrawn,
            remaining=remaining,
        )
        work.append(_Blocked(version.name, spec, info))
    return work


def retrain_after_withdrawal(
    env: AuditEnv, *, progress: Progress | None = None
) -> list[Retraining]:
    """Block what withdrawals affect, then retrain each model whose current version a
    withdrawal blocked on the datasets that remain, and audit it (see the module docstring).

    Idempotent: a model retrained once has a newer training run, whose version (new, or an
    earlier one the retraining made again) is the model's current one, and is left alone; a
    retraining that raised is tried again on the next call.

    Examples
    --------
    >>> [(r.model_name, r.status) for r in retrain_after_withdrawal(env)]  # doctest: +SKIP
    [('loans-lr', 'approved')]
    """
    with session_scope(env.engine) as session:
        enforce_withdrawals(session)
        work = _blocked_by_withdrawal(session)
    return [_retrain(env, item, progress) for item in work]


def _retrain(env: AuditEnv, item: _Blocked, progress: Progress | None) -> Retraining:
    info = item.retraining
    replaced = info.replaces_model_hash
    if not info.remaining:
        return Retraining(item.name, replaced, ModelStatus.BLOCKED, None, NOTHING_LEFT_TO_RETRAIN)
    spec = item.spec.on_datasets(tuple(info.remaining))
    try:
        run = run_audit(env, spec, progress=progress, retraining=info)
    except FairgovError as exc:
        return Retraining(item.name, replaced, ModelStatus.BLOCKED, None, exc.message, exc.code)
    reason = f"retrained on {', '.join(info.remaining)}: {run.verdict}"
    return Retraining(item.name, replaced, run.model_status, run.run_id, reason)
