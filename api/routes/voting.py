"""Voting without gas: typed data to sign, signed ballots in (202), relay status out.

No sign-in is needed: a ballot's own signature is its authority. Ballots are rate limited
per voter address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import StringConstraints

from api.context import ApiContext
from api.deps import CtxDep, SessionDep
from api.errors import NotFound, responses
from api.intake import BallotBatcher
from api.schemas.common import ADDRESS_PATTERN, ProposalIdPath, RelayPublic
from api.schemas.voting import TypedDataPublic, VoteCreate
from core.types import to_address
from governance.intake import governor_domain
from governance.messages.ballots import Ballot, verify_ballot_signature
from governance.messages.eip712 import ballot_typed_data
from governance.messages.kinds import RelayKind
from governance.relay.outbox import RelayItem

router = APIRouter(tags=["voting"])

Reason = Annotated[str, StringConstraints(max_length=4000)]


@router.get(
    "/proposals/{proposal_id}/ballot", response_model=TypedDataPublic, responses=responses(503)
)
def ballot_typed(
    ctx: CtxDep,
    proposal_id: ProposalIdPath,
    voter: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="The voter's address.")],
    support: Annotated[int, Query(ge=0, le=2, description="0 against, 1 for, 2 abstain.")],
    reason: Annotated[Reason | None, Query(description="Makes it an ExtendedBallot.")] = None,
) -> TypedDataPublic:
    """The typed data to sign with ``eth_signTypedData_v4``, with the voter's next nonce."""
    nonce, source = ctx.intake.next_nonce(RelayKind.BALLOT, to_address(voter))
    typed = ballot_typed_data(
        governor_domain(ctx.deployment),
        proposal_id=int(proposal_id),
        support=support,
        voter=voter,
        nonce=nonce,
        reason=reason,
    )
    return TypedDataPublic(typed_data=typed, nonce=nonce, nonce_source=source)


@router.post(
    "/proposals/{proposal_id}/votes",
    response_model=RelayPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(400, 404, 409, 413),
)
async def cast_vote(request: Request, proposal_id: ProposalIdPath, body: VoteCreate) -> RelayPublic:
    """Accept a signed ballot and queue it for relaying (202). The same vote again returns
    the first record; a different ballot from a voter who already has one is 409
    ``ballot_conflict`` with the first one's support and reason.

    While the chain node is down the ballot is checked against the chain index and relayed
    once the node is back.
    """
    # The hot path: the app's parts are read off the request rather than through
    # dependencies, which FastAPI re-solves on every request.
    ctx: ApiContext = request.app.state.ctx
    batcher: BallotBatcher = request.app.state.batcher
    ballot = Ballot(proposal_id=int(proposal_id), **body.model_dump())
    # The voter's budget is charged only for ballots the voter signed: junk posted in their
    # name (refused here, on the sender's IP budget) used it up, so anyone could silence
    # any voter for a whole voting period (review, session 23).
    verify_ballot_signature(ballot, domain=governor_domain(ctx.deployment))
    ctx.per_voter.check(body.voter.lower(), "voter")
    return RelayPublic.of(await batcher.submit(ballot))


@router.get("/relay/{relay_id}", response_model=RelayPublic, responses=responses(404))
def read_relay(
    session: SessionDep, relay_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> RelayPublic:
    """Where an accepted ballot, delegation or proposal is: queued, submitted, confirmed…"""
    item = session.get(RelayItem, relay_id)
    if item is None:
        raise NotFound("relay item", str(relay_id))
    return RelayPublic.of(item)
