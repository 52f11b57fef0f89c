"""The quick impact preview: what a draft or a proposal would do to every audited model,
beside the chain's classification and veto window.

Each model is judged from its stored audit evidence wherever that decides the verdict exactly
(:func:`audit.impact.rejudge`). Where it cannot (the proposal changes a metric's evidence
rule, so the stored intervals no longer apply) and no retraining is needed, the audit is
recomputed from the stored model file and the verified dataset, as the full preview does,
writing, anchoring and gating nothing. Only a mitigation change (a model retrained with it
may differ) or an audit that cannot be recomputed is left to the full preview. External
(ONNX) models are included: their audit is recomputed by scoring the registered file again,
and a mitigation change does not touch them (fairgov cannot retrain them).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion, RunStatus
from audit.env import AuditEnv
from audit.evidence import on_inconclusive
from audit.external import ExternalAuditSpec, is_external_spec, parse_external_spec
from audit.gate import decide
from audit.impact._apply import ProposedPolicy, apply_actions
from audit.impact._recompute import UNREADABLE_MODEL, recompute
from audit.impact._rejudge import rejudge
from audit.impact._rules import ChainRules, draft_rules, proposal_rules
from audit.manifest import manifest_by_hash
from audit.report import Report
from audit.runs import REFUSALS
from audit.service.queries import stored_report
from audit.spec import ModelSpec, parse_spec
from audit.verify import frozen_snapshot
from bias_checks import Verdict
from core.db import session_scope
from governance.actions import Action, describe, encode
from governance.errors import EmptyProposal
from governance.index.models import Proposal
from governance.policy.models import PolicySnapshot, allowed_dataset

_ACTIONS = TypeAdapter(list[Action])

REVOKED = (
    "trained on dataset {dataset}, which the proposal revokes: its next audit would be "
    "refused and the model blocked"
)
NOT_ALLOWED = (
    "trained on dataset {dataset}, which the proposed policy does not allow: its next audit "
    "would be refused and the model blocked"
)
NOT_ALLOWED_NOW = (
    "trained on dataset {dataset}, which the current policy already does not allow "
    "(withdrawn or revoked), and the proposal does not allow it again: its next audit would "
    "be refused and the model blocked, with or without this proposal"
)
CONTENT_CHANGED = (
    "the proposal allows other content for dataset {dataset} than the model was audited on: "
    "its next audit would be refused and the model blocked"
)
CONTENT_CHANGED_NOW = (
    "the current policy already allows other content for dataset {dataset} than the model "
    "was audited on: its next audit would be refused and the model blocked, with or without "
    "this proposal"
)
MITIGATION = (
    "mitigation changes to {strategy}: the verdict shown is the current model file's (a "
    "re-audit does not retrain); a model retrained with it may differ, which the full "
    "preview shows"
)
RECOMPUTED = (
    "recomputed from the stored model file and the verified dataset under the proposed policy"
)
MANIFEST_CHANGED = (
    "the proposal allows another manifest for dataset {dataset} than the stored audit's (its "
    "privileged group may differ), so the stored audit cannot be re-judged"
)
NOT_RECOMPUTED = "the audit cannot be recomputed: {message}"
EXTERNAL_MITIGATION = (
    "mitigation changes to {strategy}: not applied to this external model (fairgov did not "
    "train it and cannot retrain it); its re-audit scores the registered file as it is"
)


class VerdictChange(enum.StrEnum):
    """How a model's verdict moves under the proposed policy."""

    PASS_TO_FAIL = "pass_to_fail"
    FAIL_TO_PASS = "fail_to_pass"
    UNCHANGED = "unchanged"
    TO_INCONCLUSIVE = "to_inconclusive"
    FROM_INCONCLUSIVE = "from_inconclusive"
    REFUSED = "refused"
    UNKNOWN = "unknown"


class JudgedFrom(enum.StrEnum):
    """How the quick preview judged a model under the proposed policy."""

    STORED_EVIDENCE = "stored_evidence"
    RECOMPUTED = "recomputed"


def verdict_change(current: Verdict | None, previewed: Verdict | None) -> VerdictChange:
    """The move from ``current`` to ``previewed`` (None previewed: not decided)."""
    if previewed is None:
        return VerdictChange.UNKNOWN
    if previewed == current:
        return VerdictChange.UNCHANGED
    if previewed == Verdict.INCONCLUSIVE:
        return VerdictChange.TO_INCONCLUSIVE
    if current == Verdict.INCONCLUSIVE or current is None:
        return VerdictChange.FROM_INCONCLUSIVE
    return VerdictChange.PASS_TO_FAIL if previewed == Verdict.FAIL else VerdictChange.FAIL_TO_PASS


@dataclass(frozen=True)
class AuditedModel:
    """A model version, the run that last decided its status, and that run's report."""

    version: ModelVersion
    run: AuditRunRecord
    report: Report

    @property
    def external(self) -> bool:
        """Whether the run audited an external (ONNX) model: fairgov cannot retrain it."""
        return is_external_spec(json.loads(self.run.spec_json))

    @property
    def spec(self) -> ModelSpec | ExternalAuditSpec:
        """The run's stored spec; InvalidModelSpec if this version no longer reads it."""
        data = json.loads(self.run.spec_json)
        return parse_external_spec(data) if is_external_spec(data) else parse_spec(data)


@dataclass(frozen=True)
class ModelImpact:
    """One audited model under the proposed policy, judged from its stored audit or, where
    that cannot decide and no retraining is needed, from its audit recomputed
    (``judged_from``)."""

    model_name: str
    model_hash: str
    run_id: str
    dataset_name: str
    dataset_id: str
    current_verdict: Verdict | None
    current_status: ModelStatus
    previewed_verdict: Verdict | None
    previewed_status: ModelStatus | None
    change: VerdictChange
    needs_full_preview: bool
    reasons: tuple[str, ...]
    judged_from: JudgedFrom


@dataclass(frozen=True)
class ImpactPreview:
    """What a draft or proposal would do: chain rules, the policy after it, every model."""

    summaries: tuple[str, ...]
    rules: ChainRules
    current: PolicySnapshot
    proposed: ProposedPolicy
    models: tuple[ModelImpact, ...]

    @property
    def trained_on_revoked(self) -> tuple[str, ...]:
        """The models trained on a dataset the proposal revokes."""
        revoked = set(self.proposed.revoked)
        return tuple(m.model_name for m in self.models if m.dataset_id in revoked)


def audited_models(session: Session) -> list[AuditedModel]:
    """Every model version whose latest run completed with a readable report, by name."""
    out = []
    versions = session.exec(select(ModelVersion).order_by(col(ModelVersion.name))).all()
    for version in versions:
        if version.latest_run_id is None:
            continue
        run = session.exec(
            select(AuditRunRecord)
            .where(
                AuditRunRecord.run_id == version.latest_run_id,
                AuditRunRecord.status == RunStatus.COMPLETED,
            )
            .order_by(col(AuditRunRecord.id).desc())
        ).first()
        report = None if run is None else stored_report(run)
        if run is not None and report is not None:
            out.append(AuditedModel(version, run, report))
    return out


def _refusal(model: AuditedModel, current: PolicySnapshot, proposed: ProposedPolicy) -> str | None:
    """Why the model's next audit would be refused under the proposed policy, checked for
    each dataset it trained on (a run on several has a combined id no policy holds), and
    whether it is this proposal's doing or the current policy's already."""
    for part in model.report.model.dataset.parts:
        dataset_id, name = part.dataset_id.lower(), part.name
        then, now = (
            allowed_dataset(proposed.snapshot, dataset_id),
            allowed_dataset(current, dataset_id),
        )
        if then is None:
            if dataset_id in proposed.revoked:
                return REVOKED.format(dataset=name)
            # Not this proposal's doing when the policy disallows it already (new-user review).
            return (NOT_ALLOWED if now is not None else NOT_ALLOWED_NOW).format(dataset=name)
        if then.content_hash != part.content_hash:
            already = now is not None and now.content_hash == then.content_hash
            return (CONTENT_CHANGED_NOW if already else CONTENT_CHANGED).format(dataset=name)
    return None


def _manifest_changed(
    engine: Engine, model: AuditedModel, current: PolicySnapshot, proposed: ProposedPolicy
) -> bool:
    """Whether the proposal allows the model's dataset with another manifest than now, or
    with one whose privileged group (which the directional metrics compare with) is not the
    one the stored audit used: a manifest voted after the audit may name another."""
    dataset_id = model.run.dataset_id.lower()
    now, then = allowed_dataset(current, dataset_id), allowed_dataset(proposed.snapshot, dataset_id)
    if then is None:
        return False
    if now is not None and now.manifest_hash != then.manifest_hash:
        return True
    with session_scope(engine) as session:
        manifest = manifest_by_hash(session, then.manifest_hash)
    if manifest is None:
        return False
    used = model.report.model.audit.config.get("reference_group", "majority")
    if isinstance(used, str):
        return used != "majority" or manifest.reference_group is not None
    return {k: str(v) for k, v in used.items()} != manifest.reference_group


def _recomputed(
    env: AuditEnv, model: AuditedModel, proposed: ProposedPolicy
) -> tuple[Verdict, ModelStatus] | str:
    try:
        outcome = recompute(env, model.spec, model.version, proposed.snapshot, retrain=False)
    except (*REFUSALS, *UNREADABLE_MODEL) as exc:
        return NOT_RECOMPUTED.format(message=exc.message)
    return outcome.result.verdict, outcome.status


def model_impact(
    env: AuditEnv, model: AuditedModel, current: PolicySnapshot, proposed: ProposedPolicy
) -> ModelImpact:
    """The quick preview of one model: refused, re-judged exactly from its stored evidence,
    recomputed when that cannot decide and no retraining is needed, or left to the full one."""
    run, version = model.run, model.version
    current_verdict = None if run.verdict is None else Verdict(run.verdict)
    reasons: list[str] = []
    judged_from = JudgedFrom.STORED_EVIDENCE
    refusal = _refusal(model, current, proposed)
    mitigation_changed = proposed.mitigation_changed(current) and refusal is None
    retrain = mitigation_changed and not model.external
    verdict: Verdict | None
    status: ModelStatus | None
    if refusal is not None:
        verdict, status = None, ModelStatus.BLOCKED
        reasons.append(refusal)
    else:
        outcome = rejudge(model.report.model.audit, proposed.snapshot)
        verdict, status = outcome.verdict, None
        reasons.extend(outcome.undecided)
        if _manifest_changed(env.engine, model, current, proposed):
            verdict = None
            reasons.append(MANIFEST_CHANGED.format(dataset=run.dataset_name))
        if verdict is not None:
            when = on_inconclusive(proposed.snapshot, outcome.inconclusive)
            status, _ = decide(verdict, anchored=True, on_inconclusive=when)
        elif not retrain:
            recomputed = _recomputed(env, model, proposed)
            if isinstance(recomputed, str):
                reasons.append(recomputed)
            else:
                (verdict, status), judged_from = recomputed, JudgedFrom.RECOMPUTED
                reasons.append(RECOMPUTED)
    if mitigation_changed:
        note = MITIGATION if retrain else EXTERNAL_MITIGATION
        reasons.append(note.format(strategy=proposed.snapshot.mitigation.strategy))
    change = (
        VerdictChange.REFUSED if refusal is not None else verdict_change(current_verdict, verdict)
    )
    return ModelImpact(
        model_name=version.name,
        model_hash=version.model_hash,
        run_id=run.run_id,
        dataset_name=run.dataset_name,
        dataset_id=run.dataset_id.lower(),
        current_verdict=current_verdict,
        current_status=ModelStatus(version.status),
        previewed_verdict=verdict,
        previewed_status=status,
        change=change,
        needs_full_preview=change == VerdictChange.UNKNOWN or retrain,
        reasons=tuple(reasons),
        judged_from=judged_from,
    )


def _preview(env: AuditEnv, actions: Sequence[Action], rules: ChainRules) -> ImpactPreview:
    current = frozen_snapshot(env.w3, env.deployment.addresses.training_policy)
    proposed = apply_actions(current, actions)
    with session_scope(env.engine) as session:
        models = audited_models(session)
        session.expunge_all()
    impacts = tuple(model_impact(env, m, current, proposed) for m in models)
    summaries = tuple(describe(a) for a in actions)
    return ImpactPreview(summaries, rules, current, proposed, impacts)


def preview_draft(env: AuditEnv, actions: Sequence[Action]) -> ImpactPreview:
    """The quick preview of actions not yet proposed.

    Each model is judged from its stored evidence, or its audit recomputed where the proposal
    changes an evidence rule (see :class:`ModelImpact` ``judged_from``).

    Raises
    ------
    EmptyProposal
        No actions.
    ActionNotApplicable
        An action the current policy would refuse (its call would revert).

    Examples
    --------
    >>> preview = preview_draft(env, [SetThreshold(metric="demographic_parity_difference",
    ...     value=Decimal("0.3"), direction="upper")])  # doctest: +SKIP
    >>> [(m.model_name, m.change) for m in preview.models]  # doctest: +SKIP
    [('loans-lr', <VerdictChange.FAIL_TO_PASS: 'fail_to_pass'>)]
    """
    if not actions:
        raise EmptyProposal
    addresses = env.deployment.addresses
    targets, _, calldatas = encode(actions, addresses)
    return _preview(env, actions, draft_rules(env.w3, addresses, targets, calldatas))


def preview_proposal(env: AuditEnv, proposal: Proposal) -> ImpactPreview:
    """The quick preview of an indexed proposal, as if it executed on the current policy.

    Examples
    --------
    >>> preview_proposal(env, proposal).rules.majority_needed  # doctest: +SKIP
    Fraction(2, 3)
    """
    actions = _ACTIONS.validate_python(proposal.actions_list())
    rules = proposal_rules(env.w3, env.deployment.addresses, proposal)
    return _preview(env, actions, rules)
