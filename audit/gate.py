"""The model gate: which trained models serving code may use.

Every trained model file is a :class:`~audit.db_models.ModelVersion`: a ``candidate`` until
an audit decides, ``approved`` only after a PASS verdict whose fingerprint is confirmed on
chain, ``blocked`` after a FAIL (or when a re-audit under a newer policy fails or is
refused). An INCONCLUSIVE verdict does what the voted evidence rule says: ``block`` (the
default) blocks the model; ``approve_with_warning`` approves it once anchored, with the
warning in its reason and in the report. Serving code calls :func:`require_approved` before
it uses a model.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from audit.db_models import ModelStatus, ModelVersion, utcnow
from audit.errors import ModelNotApproved
from bias_checks import OnInconclusive, Verdict
from core.types import is_hash32

NOT_ANCHORED_REASON = "the audit passed but its anchor is not confirmed on chain"
UNKNOWN_MODEL_REASON = "no model with this name or hash is registered"
INCONCLUSIVE_BLOCKED_REASON = (
    "the audit was INCONCLUSIVE and the voted evidence rule blocks such models: "
    "audit it on more rows per group to decide it"
)
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
    """Every approved model version, oldest first."""
    query = select(ModelVersion).where(ModelVersion.status == ModelStatus.APPROVED)
    return list(session.exec(query.order_by(col(ModelVersion.id))).all())


def require_approved(session: Session, model_hash_or_name: str) -> ModelVersion:
    """The approved model version serving code may use, or :class:`ModelNotApproved`.

    Given a name, the most recently approved version of that model is returned.

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
        if version.status == ModelStatus.APPROVED:
            return version
    latest = versions[0]
    raise ModelNotApproved(model_hash_or_name, latest.status, latest.reason)
