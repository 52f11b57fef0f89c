"""The model gate: which trained models serving code may use.

Every trained model file is a :class:`~audit.db_models.ModelVersion`: a ``candidate`` until
an audit decides, ``approved`` only after a PASS verdict whose fingerprint is confirmed on
chain, ``blocked`` after a FAIL (or when a re-audit under a newer policy fails or is
refused). An INCONCLUSIVE verdict does what the voted evidence rule says: ``block`` (the
default) blocks the model; ``approve_with_warning`` approves it once anchored, with the
warning in its reason and in the report. Serving code calls :func:`require_approved` before
it uses a model. An approval rests on its anchor: while a chain rollback has taken the
anchor away, or for good when it took the audit's policy too, the version is a candidate
again (:mod:`audit.reanchor`).

Consent is part of the gate. From the first block the indexer has seen in which a provider
withdrew a dataset (``DatasetWithdrawn`` that revoked it) or a vote revoked it
(``DatasetRevoked``), every model version trained on that dataset is blocked:
:func:`enforce_withdrawals` demotes them when the scheduler syncs, and
:func:`require_approved` checks the index itself, so no sync path can miss one. A version stays
blocked until a retraining on the remaining datasets makes a new version
(:mod:`audit.service.withdrawals`), unless a reorganisation drops the withdrawal from the
index: the block is derived from the index, and the version gets its audit's status back.

An external (ONNX) model's approval rests on the audit that scored it on a voted dataset
(:mod:`audit.external`): from that dataset's withdrawal or revocation its version is blocked
the same way, until a re-audit on an allowed dataset (``fairgov audit external SPEC``,
``POST /v1/audits/external``) approves it again; fairgov cannot retrain it.
"""

from __future__ import annotations

import json
from typing import Final

from pydantic import ValidationError
from sqlalchemy import and_
from sqlmodel import Session, col, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion, RunKind, RunStatus, utcnow
from audit.errors import ModelNotApproved
from audit.report_model import WithdrawalInfo
from audit.spec import FederatedSpec, ModelSpec, is_federated
from bias_checks import OnInconclusive, Verdict
from core.types import is_hash32
from governance.actions import dataset_id_of
from governance.index.models import PolicyEvent

NOT_ANCHORED_REASON = "the audit passed but its anchor is not confirmed on chain"
UNKNOWN_MODEL_REASON = "no model with this name or hash is registered"
INCONCLUSIVE_BLOCKED_REASON = (
    "the audit was INCONCLUSIVE and the voted evidence rule blocks such models: "
    "audit it on more rows per group to decide it"
)
WITHDRAWN_BY_PROVIDER: Final = "withdrawn by its provider"
REVOKED_BY_VOTE: Final = "revoked by a vote"
NOTHING_LEFT_TO_RETRAIN: Final = "no allowed dataset of its spec remains: it stays blocked"
#: How a reason for a block by a withdrawal (or revocation) begins.
WITHDRAWN_DATA: Final = "trained on withdrawn data"
#: How the reason begins for an external model whose audit scored withdrawn data.
WITHDRAWN_AUDIT_DATA: Final = "its audit data was withdrawn"
#: How an external model blocked by a withdrawal gets approved again.
REAUDIT_ELSEWHERE: Final = (
    "re-audit it on an allowed dataset (`fairgov audit external SPEC` or "
    "POST /v1/audits/external) to lift the block"
)
WITHDRAWAL_UNDONE: Final = "the withdrawal that blocked it is no longer on the chain"
#: The policy events that take a dataset's consent away (a withdrawal only if it ``revoked``).
_CONSENT_LOST: Final = ("DatasetWithdrawn", "DatasetRevoked")
#: The kinds of run that audit an external model's file (a re-audit only with its spec).
_EXTERNAL_KINDS: Final = (RunKind.EXTERNAL, RunKind.REAUDIT)
#: How the reason begins for a version whose approval rested on an anchor a chain rollback
#: took away, while :mod:`audit.reanchor` publishes it again (a candidate meanwhile).
ANCHOR_LOST: Final = "its anchor is no longer on the chain"
#: How the reason begins for a version whose approval rested on an audit under a policy a
#: chain rollback took away: a candidate until the re-audit under the current policy.
POLICY_ROLLED_BACK: Final = "its policy was rolled back on chain"
INCONCLUSIVE_APPROVED_REASON = (
    "approved with a warning: the audit was INCONCLUSIVE and the voted evidence rule "
    "approves such models with a warning; anchored on chain"
)


def decide(
    verdict: Verdict,
    *,
    anchored: bool,
    on_inconclusive: OnInconclusive = OnInconclusive.BLOCK,
) -> tuple[ModelStatus, str]:
    """The gate's status for an audit verdict, whether its anchor is confirmed, and what
    the voted evidence rule does with an INCONCLUSIVE verdict.

    Examples
    --------
    >>> decide(Verdict.PASS, anchored=True)[0].value
    'approved'
    >>> decide(Verdict.PASS, anchored=False)[0].value
    'candidate'
    >>> decide(Verdict.INCONCLUSIVE, anchored=True)[0].value
    'blocked'
    >>> decide(Verdict.INCONCLUSIVE, anchored=True,
    ...        on_inconclusive=OnInconclusive.APPROVE_WITH_WARNING)[0].value
    'approved'
    """
    if verdict == Verdict.FAIL:
        return ModelStatus.BLOCKED, "the audit failed its fairness thresholds"
    if verdict == Verdict.INCONCLUSIVE:
        if on_inconclusive != OnInconclusive.APPROVE_WITH_WARNING:
            return ModelStatus.BLOCKED, INCONCLUSIVE_BLOCKED_REASON
        if not anchored:
            return ModelStatus.CANDIDATE, "the audit was INCONCLUSIVE; its anchor is not confirmed"
        return ModelStatus.APPROVED, INCONCLUSIVE_APPROVED_REASON
    if verdict != Verdict.PASS:
        return ModelStatus.CANDIDATE, f"the audit was {verdict}: the evidence cannot decide"
    if not anchored:
        return ModelStatus.CANDIDATE, NOT_ANCHORED_REASON
    return ModelStatus.APPROVED, "passed every fairness threshold; anchored on chain"


def record_audit(
    session: Session,
    *,
    name: str,
    model_hash: str,
    artifact_path: str,
    run_id: str,
    verdict: Verdict,
    anchored: bool,
    policy_version: int,
    on_inconclusive: OnInconclusive = OnInconclusive.BLOCK,
) -> ModelVersion:
    """Create or update the model version of an audited model and set its status.

    ``on_inconclusive`` is what the run's frozen evidence rule does with an INCONCLUSIVE
    verdict (see :func:`decide`).

    Examples
    --------
    >>> version = record_audit(session, name="loans-lr", model_hash=h, artifact_path=p,
    ...     run_id=r, verdict=Verdict.PASS, anchored=True, policy_version=4)  # doctest: +SKIP
    >>> version.status  # doctest: +SKIP
    'approved'
    """
    status, reason = decide(verdict, anchored=anchored, on_inconclusive=on_inconclusive)
    version = session.exec(
        select(ModelVersion).where(ModelVersion.name == name, ModelVersion.model_hash == model_hash)
    ).first()
    if version is None:
        version = ModelVersion(name=name, model_hash=model_hash, artifact_path=artifact_path)
    version.status = status
    version.reason = f"run {run_id}: {reason}"
    version.latest_run_id = run_id
    version.policy_version = policy_version
    version.updated_at = utcnow()
    session.add(version)
    session.flush()
    return version


def block(session: Session, version: ModelVersion, reason: str) -> ModelVersion:
    """Demote ``version`` to ``blocked`` with ``reason``."""
    version.status = ModelStatus.BLOCKED
    version.reason = reason
    version.updated_at = utcnow()
    session.add(version)
    session.flush()
    return version


def training_run(session: Session, version: ModelVersion) -> AuditRunRecord | None:
    """The newest completed training run that made ``version``'s model file.

    A seeded training can make the same file again (a retraining after a withdrawal, a
    re-audit under a new policy): the newest run is the one whose datasets and policy
    version the file's consent now rests on.
    """
    return session.exec(
        select(AuditRunRecord)
        .where(AuditRunRecord.model_name == version.name)
        .where(AuditRunRecord.model_hash == version.model_hash)
        .where(AuditRunRecord.kind == RunKind.TRAINING_RUN)
        .where(AuditRunRecord.status == RunStatus.COMPLETED)
        .order_by(col(AuditRunRecord.id).desc())
    ).first()


def is_external_run(run: AuditRunRecord) -> bool:
    """Whether ``run`` audited an external (ONNX) model: its kind says so, or it is a
    re-audit of one (its stored spec names the registered file's ``model_hash``)."""
    if run.kind == RunKind.EXTERNAL:
        return True
    if run.kind != RunKind.REAUDIT:
        return False
    try:
        data = json.loads(run.spec_json)
    except ValueError:
        return False
    return isinstance(data, dict) and "model_hash" in data and data.get("federated") is not True


def consent_run(session: Session, version: ModelVersion) -> AuditRunRecord | None:
    """The run whose datasets ``version``'s approval rests on: its newest training run, or
    for an external model the newest completed audit that scored its file."""
    run = training_run(session, version)
    if run is not None:
        return run
    audits = _made_by(session, open_only=False, kinds=_EXTERNAL_KINDS, of=version)
    return audits[-1][1] if audits else None


def _made_by(
    session: Session,
    *,
    open_only: bool,
    kinds: tuple[RunKind, ...] = (RunKind.TRAINING_RUN,),
    of: ModelVersion | None = None,
) -> list[tuple[ModelVersion, AuditRunRecord]]:
    """Each version (only those not blocked, if ``open_only``; only ``of``, if given) with
    every completed run of ``kinds`` that made its file (for external kinds: that audited an
    external model's file), in run order."""
    query = (
        select(ModelVersion, AuditRunRecord)
        .join(
            AuditRunRecord,
            and_(
                col(AuditRunRecord.model_name) == col(ModelVersion.name),
                col(AuditRunRecord.model_hash) == col(ModelVersion.model_hash),
            ),
        )
        .where(col(AuditRunRecord.kind).in_(kinds))
        .where(AuditRunRecord.status == RunStatus.COMPLETED)
    )
    if open_only:
        query = query.where(ModelVersion.status != ModelStatus.BLOCKED)
    if of is not None:
        query = query.where(ModelVersion.id == of.id)
    rows = session.exec(query.order_by(col(AuditRunRecord.id))).all()
    if RunKind.TRAINING_RUN in kinds:
        return list(rows)
    return [(v, run) for v, run in rows if is_external_run(run)]


def current_versions(session: Session) -> list[tuple[ModelVersion, AuditRunRecord]]:
    """Each model's current version, the one its newest completed training run made, with
    that run. Not the newest row: a training that makes a file the model had before
    updates that older row.

    Examples
    --------
    >>> [(v.name, v.status) for v, _ in current_versions(session)]  # doctest: +SKIP
    [('loans-lr', 'approved')]
    """
    current: dict[str, tuple[ModelVersion, AuditRunRecord]] = {}
    for version, run in _made_by(session, open_only=False):
        current[version.name] = (version, run)
    return list(current.values())


def trained_on(run: AuditRunRecord) -> dict[str, str]:
    """The datasets a training run used, ``{dataset id: name}`` in the spec's order."""
    try:
        data = json.loads(run.spec_json)
        if is_federated(data):  # federated specs name dataset ids (#16)
            return {d: d for d in FederatedSpec.model_validate(data).dataset_ids}
        names = ModelSpec.model_validate(data).dataset_names
    except (ValidationError, ValueError):
        return {run.dataset_id: run.dataset_name}  # a spec this version no longer reads
    return {dataset_id_of(name): name for name in names}


def _consent_lost(session: Session, dataset_ids: list[str] | None = None) -> list[PolicyEvent]:
    """The indexed withdrawals and revocations (of ``dataset_ids``, or of any), in chain order."""
    query = select(PolicyEvent).where(col(PolicyEvent.name).in_(_CONSENT_LOST))
    if dataset_ids is not None:
        query = query.where(col(PolicyEvent.subject).in_(dataset_ids))
    order = (col(PolicyEvent.block_number), col(PolicyEvent.log_index))
    return list(session.exec(query.order_by(*order)).all())


def _withdrawals(run: AuditRunRecord, events: list[PolicyEvent]) -> list[WithdrawalInfo]:
    datasets = trained_on(run)
    found: dict[str, WithdrawalInfo] = {}
    for event in events:
        subject = event.subject
        if (
            subject not in datasets
            or subject in found
            or event.policy_version <= run.policy_version
        ):
            continue
        args = json.loads(event.args)
        by_provider = event.name == "DatasetWithdrawn"
        if by_provider and not args.get("revoked"):
            continue  # it withdrew an offer that was not in force
        found[subject] = WithdrawalInfo(
            dataset=datasets[subject],
            dataset_id=subject,
            by="provider" if by_provider else "vote",
            provider=args.get("provider") if by_provider else None,
            block_number=event.block_number,
            policy_version=event.policy_version,
            tx_hash=event.tx_hash,
        )
    return list(found.values())


def withdrawals_since(session: Session, run: AuditRunRecord) -> list[WithdrawalInfo]:
    """The indexed withdrawals and revocations of ``run``'s datasets after the policy version
    it trained under: the first of each dataset, in chain order.

    Examples
    --------
    >>> [w.dataset for w in withdrawals_since(session, run)]  # doctest: +SKIP
    ['loans-b']
    """
    return _withdrawals(run, _consent_lost(session, list(trained_on(run))))


def withdrawal_reason(
    withdrawn: list[WithdrawalInfo], *, remaining: int, external: bool = False
) -> str:
    """The gate's reason for a version trained on ``withdrawn`` data, ``remaining`` datasets
    of its spec left to retrain on; for an ``external`` model, audited on that data, how a
    re-audit lifts the block.

    Examples
    --------
    >>> withdrawal_reason([w], remaining=0)  # doctest: +SKIP
    "dataset 'loans-b' (0x…) withdrawn by its provider 0x… at block 41 (policy version 9); …"
    """
    parts = []
    for w in withdrawn:
        who = f"{WITHDRAWN_BY_PROVIDER} {w.provider}" if w.by == "provider" else REVOKED_BY_VOTE
        parts.append(
            f"dataset {w.dataset!r} ({w.dataset_id}) {who} at block {w.block_number} "
            f"(policy version {w.policy_version})"
        )
    if external:
        return f"{WITHDRAWN_AUDIT_DATA}: {'; '.join(parts)}; {REAUDIT_ELSEWHERE}"
    tail = NOTHING_LEFT_TO_RETRAIN if remaining == 0 else "to be retrained on the rest"
    return f"{WITHDRAWN_DATA}: {'; '.join(parts)}; {tail}"


def _block_if(
    session: Session, version: ModelVersion, run: AuditRunRecord, withdrawn: list[WithdrawalInfo]
) -> bool:
    if not withdrawn:
        return False
    remaining = len(trained_on(run)) - len(withdrawn)
    reason = withdrawal_reason(withdrawn, remaining=remaining, external=is_external_run(run))
    block(session, version, reason)
    return True


def _block_if_withdrawn(session: Session, version: ModelVersion) -> bool:
    run = consent_run(session, version)
    return run is not None and _block_if(session, version, run, withdrawals_since(session, run))


def enforce_withdrawals(session: Session) -> list[ModelVersion]:
    """Block every approved or candidate version trained on a dataset whose consent was
    withdrawn (or revoked by a vote) since, and every external model version whose newest
    audit scored such a dataset; return the versions it blocked.

    A version blocked only for withdrawals the index no longer holds (a reorganisation
    dropped them) gets its audit's status back first. Idempotent otherwise: blocked versions
    are left as they are. The scheduler calls it on every sync, so it reads the events once
    and the open versions with their training runs once.

    Examples
    --------
    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     [v.name for v in enforce_withdrawals(session)]
    ['loans-lr']
    """
    events = _consent_lost(session)
    _reinstate(session, events)
    if not events:
        return []
    newest: dict[int | None, tuple[ModelVersion, AuditRunRecord]] = {}
    for version, run in _made_by(session, open_only=True, kinds=_EXTERNAL_KINDS):
        newest[version.id] = (version, run)
    for version, run in _made_by(session, open_only=True):  # a training run comes first
        newest[version.id] = (version, run)
    return [
        v for v, run in newest.values() if _block_if(session, v, run, _withdrawals(run, events))
    ]


def _reinstate(session: Session, events: list[PolicyEvent]) -> None:
    """Give back its audit's status to each version blocked for withdrawals the index no
    longer holds (a reorganisation dropped them): the block is derived from the index.

    Such a version was approved or a candidate when it was blocked, so its audit passed, or
    was INCONCLUSIVE under a rule that approves with a warning.
    """
    blocked = session.exec(
        select(ModelVersion)
        .where(ModelVersion.status == ModelStatus.BLOCKED)
        .where(
            col(ModelVersion.reason).startswith(WITHDRAWN_DATA)
            | col(ModelVersion.reason).startswith(WITHDRAWN_AUDIT_DATA)
        )
    ).all()
    for version in blocked:
        run = consent_run(session, version)
        if run is None or run.verdict is None or _withdrawals(run, events):
            continue
        status, reason = decide(
            run.verdict,
            anchored=run.anchor_tx is not None,
            on_inconclusive=OnInconclusive.APPROVE_WITH_WARNING,
        )
        version.status = status
        version.reason = f"run {run.run_id}: {reason}; {WITHDRAWAL_UNDONE}"
        # updated_at stays the block's time: a retraining made since remains the newer version
        session.add(version)
    session.flush()


def find_versions(session: Session, model_hash_or_name: str) -> list[ModelVersion]:
    """The versions with this model hash, or of the model with this name, newest first."""
    query = select(ModelVersion)
    if is_hash32(model_hash_or_name):
        query = query.where(ModelVersion.model_hash == model_hash_or_name.lower())
    else:
        query = query.where(ModelVersion.name == model_hash_or_name)
    order = (col(ModelVersion.updated_at).desc(), col(ModelVersion.id).desc())
    return list(session.exec(query.order_by(*order)).all())


def approved_versions(session: Session) -> list[ModelVersion]:
    """Every approved model version, oldest first, and every version whose approval a chain
    rollback suspended (:data:`ANCHOR_LOST`, :data:`POLICY_ROLLED_BACK`): a re-audit under a
    new policy must not pass them by, and none other would decide them."""
    suspended = and_(
        col(ModelVersion.status) == ModelStatus.CANDIDATE,
        col(ModelVersion.reason).startswith(ANCHOR_LOST)
        | col(ModelVersion.reason).startswith(POLICY_ROLLED_BACK),
    )
    approved = col(ModelVersion.status) == ModelStatus.APPROVED
    query = select(ModelVersion).where(approved | suspended)
    return list(session.exec(query.order_by(col(ModelVersion.id))).all())


def require_approved(session: Session, model_hash_or_name: str) -> ModelVersion:
    """The approved model version serving code may use, or :class:`ModelNotApproved`.

    Given a name, the most recently approved version of that model is returned. An approved
    version trained on data withdrawn since (as far as the index has seen) is blocked here
    and refused, even before :func:`enforce_withdrawals` ran.

    Raises
    ------
    ModelNotApproved
        No such model, or it is a candidate or blocked; ``reason`` says why.

    Examples
    --------
    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     version = require_approved(session, "loans-lr")
    >>> model = load_model(Path(version.artifact_path),
    ...                    expected_hash=version.model_hash)  # doctest: +SKIP
    """
    versions = find_versions(session, model_hash_or_name)
    if not versions:
        raise ModelNotApproved(model_hash_or_name, "unknown", UNKNOWN_MODEL_REASON)
    for version in versions:
        if version.status == ModelStatus.APPROVED and not _block_if_withdrawn(session, version):
            return version
    latest = versions[0]
    raise ModelNotApproved(model_hash_or_name, latest.status, latest.reason)
