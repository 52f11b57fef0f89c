"""The impact preview of a draft or a proposal: chain rules and every audited model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import EXAMPLE_ADDRESS, EXAMPLE_HASH
from api.schemas.proposals import PreparedPublic
from audit.db_models import ModelStatus
from audit.impact import (
    ChainRules,
    FullModelResult,
    FullPreview,
    ImpactPreview,
    JudgedFrom,
    ModelImpact,
    VerdictChange,
    describe_rules,
    describe_veto_deadline,
)
from bias_checks import Verdict
from governance.actions import Action
from governance.messages.proposals import PreparedProposal
from governance.protection import ChangeLabel


class RulesPublic(BaseModel):
    """The chain's classification, the majority needed and the guardian's veto window."""

    summary: str = Field(
        description="one line, e.g. 'loosening (threshold_weakened): needs at least 2/3 of "
        "the FOR and AGAINST votes; the guardian 0x… may cancel it until it executes'"
    )
    loosening: bool = Field(description="loosening when proposed or now")
    changes: list[ChangeLabel] = Field(description="the classifier's verdict on each call, now")
    loosening_when_proposed: bool | None = Field(
        default=None, description="as recorded when proposed; null for a draft"
    )
    majority_needed: str = Field(description="share of FOR among FOR + AGAINST, e.g. '2/3'")
    guardian: str | None = None
    guardian_may_cancel: bool
    vote_ends_block: int = Field(
        description="the last voting block (a draft: if proposed in the next block)"
    )
    timelock_delay: int = Field(description="seconds between queueing and execution")
    executable_at: int | None = Field(
        default=None, description="unix time it may execute (the veto ends), once queued"
    )
    veto_deadline: str = Field(
        description="one line, e.g. 'the vote ends at block 160; it may execute 60 s after "
        "it is queued'"
    )

    @classmethod
    def of(cls, rules: ChainRules) -> RulesPublic:
        share, veto = rules.majority_needed, rules.veto
        return cls(
            summary=describe_rules(rules),
            loosening=rules.loosening,
            changes=[c.label for c in rules.classification.changes],  # type: ignore[misc]
            loosening_when_proposed=rules.loosening_when_proposed,
            majority_needed=f"{share.numerator}/{share.denominator}",
            guardian=veto.guardian,
            guardian_may_cancel=veto.guardian_may_cancel,
            vote_ends_block=veto.vote_ends_block,
            timelock_delay=veto.timelock_delay,
            executable_at=veto.executable_at,
            veto_deadline=describe_veto_deadline(veto),
        )


class ModelImpactPublic(BaseModel):
    """One audited model: its verdict and gate status now, and under the proposed policy."""

    model_name: str
    model_hash: str
    run_id: str = Field(description="the audit the model's current verdict comes from")
    dataset_name: str
    dataset_id: str
    current_verdict: Verdict | None
    current_status: ModelStatus
    previewed_verdict: Verdict | None = Field(
        description="null when the audit is refused, or cannot be decided without the full "
        "preview (retraining, or an audit that cannot be recomputed)"
    )
    previewed_status: ModelStatus | None
    change: VerdictChange
    needs_full_preview: bool = Field(
        description="true only when retraining is needed (the mitigation changes) or the "
        "audit cannot be recomputed (reasons say why)"
    )
    reasons: list[str]
    judged_from: JudgedFrom = Field(
        description="stored_evidence: re-judged from the stored audit's intervals; recomputed: "
        "the audit re-run from the stored model file and the verified dataset under the "
        "proposed policy (an evidence rule changed), nothing anchored or gated"
    )

    @classmethod
    def of(cls, m: ModelImpact) -> ModelImpactPublic:
        return cls(
            model_name=m.model_name,
            model_hash=m.model_hash,
            run_id=m.run_id,
            dataset_name=m.dataset_name,
            dataset_id=m.dataset_id,
            current_verdict=m.current_verdict,
            current_status=m.current_status,
            previewed_verdict=m.previewed_verdict,
            previewed_status=m.previewed_status,
            change=m.change,
            needs_full_preview=m.needs_full_preview,
            reasons=list(m.reasons),
            judged_from=m.judged_from,
        )


class ImpactPublic(BaseModel):
    """The quick impact preview: judged from stored audit evidence, or the audit recomputed
    without retraining where an evidence rule changes; nothing written, anchored or gated."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "summaries": ["Set threshold demographic_parity_difference <= 0.35"],
                    "rules": {
                        "summary": "loosening (threshold_weakened): needs at least 2/3 of the "
                        f"FOR and AGAINST votes; the guardian {EXAMPLE_ADDRESS} may cancel "
                        "it until it executes",
                        "loosening": True,
                        "changes": ["threshold_weakened"],
                        "loosening_when_proposed": None,
                        "majority_needed": "2/3",
                        "guardian": EXAMPLE_ADDRESS,
                        "guardian_may_cancel": True,
                        "vote_ends_block": 160,
                        "timelock_delay": 60,
                        "executable_at": None,
                        "veto_deadline": "the vote ends at block 160; it may execute 60 s "
                        "after it is queued",
                    },
                    "policy_version": 4,
                    "proposed_policy_version": 5,
                    "unmodelled": [],
                    "trained_on_revoked": [],
                    "models": [
                        {
                            "model_name": "loans-plain",
                            "model_hash": EXAMPLE_HASH,
                            "run_id": EXAMPLE_HASH,
                            "dataset_name": "loans",
                            "dataset_id": EXAMPLE_HASH,
                            "current_verdict": "FAIL",
                            "current_status": "blocked",
                            "previewed_verdict": "PASS",
                            "previewed_status": "approved",
                            "change": "fail_to_pass",
                            "needs_full_preview": False,
                            "reasons": [],
                            "judged_from": "stored_evidence",
                        }
                    ],
                }
            ]
        }
    )

    summaries: list[str] = Field(description="one line per action")
    rules: RulesPublic
    policy_version: int
    proposed_policy_version: int
    unmodelled: list[str] = Field(description="actions that change no verdict here")
    trained_on_revoked: list[str] = Field(description="models trained on a revoked dataset")
    models: list[ModelImpactPublic]

    @classmethod
    def of(cls, preview: ImpactPreview) -> ImpactPublic:
        return cls(
            summaries=list(preview.summaries),
            rules=RulesPublic.of(preview.rules),
            policy_version=preview.current.policy_version,
            proposed_policy_version=preview.proposed.snapshot.policy_version,
            unmodelled=list(preview.proposed.unmodelled),
            trained_on_revoked=list(preview.trained_on_revoked),
            models=[ModelImpactPublic.of(m) for m in preview.models],
        )


class CheckOutcomePublic(BaseModel):
    metric: str
    verdict: Verdict
    value: float | None
    ci_low: float | None
    ci_high: float | None


class FullModelPublic(BaseModel):
    """A model audited again under the proposed policy; nothing recorded or anchored."""

    model_name: str
    model_hash: str
    retrained: bool = Field(description="trained anew because the mitigation changes")
    verdict: Verdict | None = Field(description="null when the audit would be refused")
    status: ModelStatus = Field(description="what the gate would decide")
    change: VerdictChange
    reason: str
    checks: list[CheckOutcomePublic]
    agrees_with_quick: bool | None = Field(
        description="whether the quick preview said the same; null where it could not say"
    )

    @classmethod
    def of(cls, m: FullModelResult) -> FullModelPublic:
        return cls(
            model_name=m.model_name,
            model_hash=m.model_hash,
            retrained=m.retrained,
            verdict=m.verdict,
            status=m.status,
            change=m.change,
            reason=m.reason,
            checks=[
                CheckOutcomePublic(
                    metric=c.metric, verdict=c.verdict, value=c.value, ci_low=c.low, ci_high=c.high
                )
                for c in m.checks
            ],
            agrees_with_quick=m.agrees_with_quick,
        )


class FullImpactPublic(BaseModel):
    """The quick preview and, beside it, the full preview audit of every model."""

    quick: ImpactPublic
    full: list[FullModelPublic]

    @classmethod
    def of(cls, preview: FullPreview) -> FullImpactPublic:
        return cls(
            quick=ImpactPublic.of(preview.quick),
            full=[FullModelPublic.of(m) for m in preview.models],
        )


class DraftImpact(BaseModel):
    """Typed actions not yet proposed, to preview."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "actions": [
                        {
                            "kind": "set_threshold",
                            "metric": "demographic_parity_difference",
                            "value": "0.35",
                            "direction": "upper",
                        }
                    ]
                }
            ]
        }
    )

    actions: list[Action] = Field(min_length=1, max_length=64)


class PreparedWithImpact(PreparedPublic):
    """The unsigned ``propose`` transaction, and what the proposal would do to the models."""

    impact: ImpactPublic

    @classmethod
    def with_impact(cls, prepared: PreparedProposal, preview: ImpactPreview) -> PreparedWithImpact:
        return cls(**PreparedPublic.of(prepared).model_dump(), impact=ImpactPublic.of(preview))
