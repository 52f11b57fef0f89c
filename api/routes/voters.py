"""GET /voters/{address}: a holder's tokens, voting power, delegate and votes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import col, select

from api.deps import CtxDep, SessionDep
from api.errors import responses
from api.schemas.common import ADDRESS_PATTERN
from api.schemas.voting import VotePublic, VoterPublic
from core.types import to_address
from governance.chain.contracts import bind
from governance.index.models import Vote

router = APIRouter(prefix="/voters", tags=["voters"])

_ZERO = "0x" + "0" * 40


@router.get("/{address}", response_model=VoterPublic, responses=responses(503))
def read_voter(
    ctx: CtxDep,
    session: SessionDep,
    address: Annotated[str, Path(pattern=ADDRESS_PATTERN)],
) -> VoterPublic:
    """Balance, voting power and delegate now (from the node); votes cast (from the index)."""
    account = to_address(address)
    a = ctx.deployment.addresses
    token = bind(ctx.w3, "GovernanceToken", a.token).functions
    governor = bind(ctx.w3, "FairnessGovernor", a.governor).functions
    delegate = str(token.delegates(account).call())
    votes = session.exec(
        select(Vote).where(Vote.voter == account).order_by(col(Vote.block_number).desc())
    ).all()
    return VoterPublic(
        address=account,
        balance=str(token.balanceOf(account).call()),
        voting_power=str(token.getVotes(account).call()),
        delegate=None if delegate.lower() == _ZERO else delegate,
        governor_nonce=governor.nonces(account).call(),
        token_nonce=token.nonces(account).call(),
        votes=[
            VotePublic(
                proposal_id=v.proposal_id,
                support=v.support,
                weight=v.weight,
                reason=v.reason,
                block_number=v.block_number,
                tx_hash=v.tx_hash,
            )
            for v in votes
        ],
    )
