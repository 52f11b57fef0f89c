"""Proposals: listed and shown from the chain index; prepared and submitted via the chain."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from api.deps import CtxDep, SessionDep
from api.errors import NotFound, responses
from api.runs import audit_env
from api.schemas.common import Limit, Offset, ProposalIdPath, RelayPublic
from api.schemas.impact import PreparedWithImpact
from api.schemas.proposals import (
    KeeperCallPublic,
    ProposalPrepare,
    ProposalPublic,
    ProposalsPublic,
    ProposalSubmit,
    ProposalSubmitted,
)
from audit.impact import preview_draft
from audit.manifest import check_offers_registered
from governance.index.indexer import (
    count_proposals,
    get_proposal,
    indexed_protection,
    list_proposals,
)
from governance.intake.service import next_transaction_nonce, submit_raw_proposal
from governance.messages.proposals import prepare_proposal
from governance.relay.keeper_calls import reverted_calls

router = APIRouter(prefix="/proposals", tags=["proposals"])

StateFilter = Literal[
    "Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"
]


@router.get("", response_model=ProposalsPublic, responses=responses())
def read_proposals(
    session: SessionDep,
    state: Annotated[StateFilter | None, Query(description="Only proposals in this state.")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ProposalsPublic:
    """Proposals, newest first, from the chain index (kept current by the scheduler)."""
    rows = list_proposals(session, state=state, offset=offset, limit=limit)
    protection = indexed_protection(session)
    return ProposalsPublic(
        data=[ProposalPublic.of(p, protection) for p in rows],
        count=count_proposals(session, state=state),
    )


@router.get("/{proposal_id}", response_model=ProposalPublic, responses=responses(404))
def read_proposal(session: SessionDep, proposal_id: ProposalIdPath) -> ProposalPublic:
    """One proposal: decoded actions, state, tallies, quorum and deadlines, and the keeper's
    calls of it that reverted on chain."""
    proposal = get_proposal(session, int(proposal_id))
    if proposal is None:
        raise NotFound("proposal", proposal_id)
    shown = ProposalPublic.of(proposal, indexed_protection(session))
    shown.keeper_calls = [KeeperCallPublic.of(c) for c in reverted_calls(session, int(proposal_id))]
    return shown


@router.post(
    "/prepare", response_model=PreparedWithImpact, responses=responses(400, 403, 409, 413, 503)
)
def prepare(ctx: CtxDep, session: SessionDep, body: ProposalPrepare) -> PreparedWithImpact:
    """Typed actions in, the unsigned ``propose`` transaction out, for the wallet to sign.

    ``impact`` is the quick impact preview of the draft (as ``POST /v1/proposals/impact``):
    each audited model's verdict now and under the policy after it, the chain's
    classification, the majority needed and the guardian's veto window.

    ``transaction`` signs unchanged with ethers v6 (``wallet.signTransaction``) and viem
    (``account.signTransaction``); ``rpc_transaction`` is the EIP-1193 form for a browser
    wallet's ``eth_sendTransaction``, after which fairgov indexes the ProposalCreated event.
    """
    check_offers_registered(session, body.actions)
    prepared = prepare_proposal(
        ctx.w3,
        ctx.deployment,
        proposer=body.proposer,
        actions=body.actions,
        description=body.description,
        nonce=next_transaction_nonce(session, ctx.w3, ctx.deployment, body.proposer),
    )
    return PreparedWithImpact.with_impact(prepared, preview_draft(audit_env(ctx), body.actions))


@router.post(
    "",
    response_model=ProposalSubmitted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(400, 403, 409, 413, 503),
)
def submit(ctx: CtxDep, session: SessionDep, body: ProposalSubmit) -> ProposalSubmitted:
    """Accept a signed ``propose`` transaction and queue it for broadcast (202).

    Refused before anything is stored, each with its code: another chain (``wrong_chain``),
    a gas limit below a simulation's (``gas_limit_too_low``), a sender who cannot pay the
    maximum cost (``insufficient_funds``), a nonce other than the chain's pending nonce
    after the sender's transactions fairgov holds (``wrong_transaction_nonce``).
    """
    raw = bytes.fromhex(body.raw_transaction[2:])
    item, proposal = submit_raw_proposal(session, raw, w3=ctx.w3, deployment=ctx.deployment)
    return ProposalSubmitted.of(RelayPublic.of(item), proposal)
