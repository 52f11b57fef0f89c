"""Impact previews: what a draft or an indexed proposal would do to every audited model."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session

from api.context import ApiContext
from api.deps import CtxDep, CurrentOperator, SessionDep
from api.errors import NotFound, responses
from api.runs import audit_env
from api.schemas.common import ProposalIdPath
from api.schemas.impact import DraftImpact, FullImpactPublic, ImpactPublic
from audit.impact import ImpactPreview, full_preview, preview_draft, preview_proposal
from governance.index.indexer import get_proposal

router = APIRouter(prefix="/proposals", tags=["proposals"])


def _proposal_preview(ctx: ApiContext, session: Session, proposal_id: str) -> ImpactPreview:
    proposal = get_proposal(session, int(proposal_id))
    if proposal is None:
        raise NotFound("proposal", proposal_id)
    return preview_proposal(audit_env(ctx), proposal)


@router.post("/impact", response_model=ImpactPublic, responses=responses(409, 413, 503))
def draft_impact(ctx: CtxDep, body: DraftImpact) -> ImpactPublic:
    """The quick impact preview of a draft: each audited model's verdict now and under the
    policy after the draft, judged from stored audit evidence; the chain's classification,
    the majority needed and the guardian's veto window. Nothing is sent or recorded.

    An action the current policy would refuse gets ``action_not_applicable`` (409).
    """
    return ImpactPublic.of(preview_draft(audit_env(ctx), body.actions))


@router.get(
    "/{proposal_id}/impact", response_model=ImpactPublic, responses=responses(404, 409, 503)
)
def proposal_impact(ctx: CtxDep, session: SessionDep, proposal_id: ProposalIdPath) -> ImpactPublic:
    """The quick impact preview of an indexed proposal, as if it executed now."""
    return ImpactPublic.of(_proposal_preview(ctx, session, proposal_id))


@router.post(
    "/impact/full", response_model=FullImpactPublic, responses=responses(401, 403, 409, 413, 503)
)
def draft_full_impact(
    ctx: CtxDep, _operator: CurrentOperator, body: DraftImpact
) -> FullImpactPublic:
    """The quick preview of a draft and, beside it, the full preview audit (operators): each
    model audited again under the proposed policy (retrained if the mitigation changes).
    Nothing is anchored, recorded or gated. Synchronous: it takes as long as the audits."""
    env = audit_env(ctx)
    return FullImpactPublic.of(full_preview(env, preview_draft(env, body.actions)))


@router.post(
    "/{proposal_id}/impact/full",
    response_model=FullImpactPublic,
    responses=responses(401, 403, 404, 409, 503),
)
def proposal_full_impact(
    ctx: CtxDep, _operator: CurrentOperator, session: SessionDep, proposal_id: ProposalIdPath
) -> FullImpactPublic:
    """The quick and the full preview of an indexed proposal (operators)."""
    preview = _proposal_preview(ctx, session, proposal_id)
    return FullImpactPublic.of(full_preview(audit_env(ctx), preview))
