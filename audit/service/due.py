"""Which models are due for an audit, and auditing them.

A model is due when its datasets are registered and allowed by the current policy, and its
last completed training run was under another policy, other data files or another spec.
"Another policy" is judged by the policy snapshot's hash, not its version number: after a
chain rollback a later proposal can make the same version number with other rules (in
another block), and a run under the rules the chain no longer has is not up to date. The hash
compared is the one a run started now would freeze (:func:`audit.verify.frozen_snapshot`:
the current rules, stamped with the block of their version's event), so "up to date" means
that running the spec again would give the run id of its last run.

The specs come from the training runs recorded here (the latest of each model) plus any the
operator configured, which win by name. External (ONNX) models are never due:
fairgov did not train them and cannot (their runs are ``external`` or ``reaudit``, never
``training_run``); a policy change re-audits them (:mod:`audit.service.reaudit`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session, col, select

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import DatasetNotRegistered
from audit.plan import combined, spec_manifests
from audit.publish import AuditRun
from audit.runs import run_audit
from audit.spec import ModelSpec, parse_spec
from audit.verify import frozen_snapshot
from core.canonical import canonical_json
from core.errors import FairgovError
from governance.policy.snapshot import allowed_dataset


def known_specs(session: Session, extra: tuple[ModelSpec, ...] = ()) -> list[ModelSpec]:
    """The latest spec of every model trained here, then ``extra`` (which wins by name).

    Only training runs are read: an external model's spec (an ``ExternalAuditSpec``) is
    never among them, so it is never retrained by a due audit.
    """
    rows = session.exec(
        select(AuditRunRecord)
        .where(AuditRunRecord.kind == RunKind.TRAINING_RUN)
        .order_by(col(AuditRunRecord.id))
    ).all()
    specs: dict[str, ModelSpec] = {}
    for row in rows:
        try:
            specs[row.model_name] = parse_spec(json.loads(row.spec_json))
        except (FairgovError, ValueError):
            continue  # a spec this version no longer accepts; its runs stay in history
    for spec in extra:
        specs[spec.name] = spec
    return list(specs.values())


def _same_spec(stored_json: str, spec: ModelSpec) -> bool:
    # Re-canonicalised, so rows written before specs were UTF-8 (ASCII-escaped) still match.
    return canonical_json(json.loads(stored_json)) == spec.canonical_json()


@dataclass(frozen=True)
class DueAudits:
    """The specs due for an audit, and a one-line note for each one that is not."""

    due: tuple[ModelSpec, ...]
    notes: tuple[str, ...]


def due_for_audit(env: AuditEnv, extra: tuple[ModelSpec, ...] = ()) -> DueAudits:
    """Decide which known specs (see :func:`known_specs`) need an audit now.

    Examples
    --------
    >>> [s.name for s in due_for_audit(env).due]  # doctest: +SKIP
    ['loans-lr']
    """
    snapshot = frozen_snapshot(env.w3, env.deployment.addresses.training_policy)
    due: list[ModelSpec] = []
    notes: list[str] = []
    with Session(env.engine) as session:
        for spec in known_specs(session, extra):
            try:
                manifests = spec_manifests(session, spec)
            except DatasetNotRegistered as exc:
                notes.append(f"{spec.name}: dataset {exc.details['name']!r} not registered")
                continue
            refused = [m.name for m in manifests if allowed_dataset(snapshot, m.dataset_id) is None]
            if refused:
                notes.append(f"{spec.name}: dataset {', '.join(map(repr, refused))} not allowed")
                continue
            last = session.exec(
                select(AuditRunRecord)
                .where(AuditRunRecord.model_name == spec.name)
                .where(AuditRunRecord.kind == RunKind.TRAINING_RUN)
                .where(AuditRunRecord.status == RunStatus.COMPLETED)
                .order_by(col(AuditRunRecord.id).desc())
            ).first()
            if (
                last is not None
                and last.policy_snapshot_hash == snapshot.hash
                and last.content_hash == combined(tuple(m.sha256 for m in manifests))
                and _same_spec(last.spec_json, spec)
            ):
                notes.append(f"{spec.name}: up to date (policy version {last.policy_version})")
                continue
            due.append(spec)
    return DueAudits(tuple(due), tuple(notes))


@dataclass(frozen=True)
class DueOutcome:
    """What :func:`audit_due` did: the runs that completed and the specs that failed."""

    plan: DueAudits
    runs: tuple[AuditRun, ...]
    failed: tuple[tuple[str, str], ...]
    """``(model name, error code)`` of each run that raised."""


def audit_due(env: AuditEnv, extra: tuple[ModelSpec, ...] = ()) -> DueOutcome:
    """Audit every spec :func:`due_for_audit` finds due, one after another.

    A run that fails with a :class:`~core.errors.FairgovError` is listed with its code and
    the others still run.

    Examples
    --------
    >>> outcome = audit_due(env)  # doctest: +SKIP
    >>> [(r.model_name, r.verdict) for r in outcome.runs]  # doctest: +SKIP
    [('loans-lr', 'PASS')]
    """
    plan = due_for_audit(env, extra)
    runs: list[AuditRun] = []
    failed: list[tuple[str, str]] = []
    for spec in plan.due:
        try:
            runs.append(run_audit(env, spec))
        except FairgovError as exc:
            failed.append((spec.name, exc.code))
    return DueOutcome(plan, tuple(runs), tuple(failed))
