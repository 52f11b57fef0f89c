"""Delegation without gas: typed data to sign, signed delegations in (202)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, status

from api.deps import CtxDep
from api.errors import responses
from api.schemas.common import ADDRESS_PATTERN, RelayPublic
from api.schemas.voting import DelegationCreate, TypedDataPublic
from core.types import to_address
from governance.intake import token_domain
from governance.messages.ballots import Delegation, verify_delegation_signature
from governance.messages.eip712 import delegation_typed_data
from governance.messages.kinds import RelayKind

router = APIRouter(prefix="/delegations", tags=["delegations"])

AddressQuery = Annotated[str, Query(pattern=ADDRESS_PATTERN)]


@router.get("/typed-data", response_model=TypedDataPublic, responses=responses(503))
def delegation_typed(
    ctx: CtxDep,
    delegator: AddressQuery,
    delegatee: AddressQuery,
    expiry: Annotated[int, Query(ge=0, lt=2**256, description="Unix time it stays valid to.")],
) -> TypedDataPublic:
    """The typed data to sign with ``eth_signTypedData_v4``, with the delegator's next nonce."""
    nonce, source = ctx.intake.next_nonce(RelayKind.DELEGATION, to_address(delegator))
    typed = delegation_typed_data(
        token_domain(ctx.deployment), delegatee=delegatee, nonce=nonce, expiry=expiry
    )
    return TypedDataPublic(typed_data=typed, nonce=nonce, nonce_source=source)


@router.post(
    "",
    response_model=RelayPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(400, 409),
)
async def delegate(ctx: CtxDep, body: DelegationCreate) -> RelayPublic:
    """Accept a signed delegation and queue it for relaying (202); a repeat returns the first."""
    delegation = Delegation(**body.model_dump())
    # Charged to the delegator only once the signature is theirs (see ``cast_vote``).
    verify_delegation_signature(delegation, domain=token_domain(ctx.deployment))
    ctx.per_voter.check(body.delegator.lower(), "voter")
    item, _ = await anyio.to_thread.run_sync(ctx.intake.accept_delegation, delegation)
    return RelayPublic.of(item)
