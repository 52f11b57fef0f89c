"""The protection of loosening: its parameters, and the fairness guardian's cancel."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import CtxDep, SessionDep
from api.errors import responses
from api.schemas.common import ProposalIdPath, RelayPublic
from api.schemas.guardian import (
    GuardianCancelPrepare,
    GuardianCancelSubmit,
    GuardianCancelSubmitted,
    PreparedCancelPublic,
)
from api.schemas.protection import ProtectionPublic
from governance.guardian import prepare_guardian_cancel, submit_guardian_cancel
from governance.protection import read_protection

router = APIRouter(tags=["guardian"])


@router.get("/governance/protection", response_model=ProtectionPublic, responses=responses(503))
def protection(ctx: CtxDep) -> ProtectionPublic:
    """The guardian, the supermajority of loosening proposals, both voting periods and the
    timelock delay, read from the governor now."""
    block = int(ctx.w3.eth.block_number)
    return ProtectionPublic.of(
        read_protection(ctx.w3, ctx.deployment.addresses, block=block), block
    )


@router.post(
    "/proposals/{proposal_id}/guardian-cancel/prepare",
    response_model=PreparedCancelPublic,
    responses=responses(403, 404, 409, 503),
)
def prepare_cancel(
    ctx: CtxDep,
    session: SessionDep,
    proposal_id: ProposalIdPath,
    body: GuardianCancelPrepare | None = None,
) -> PreparedCancelPublic:
    """The unsigned ``cancel`` transaction of a loosening proposal, for the guardian's wallet.

    Refused with ``not_guardian`` (403) when ``guardian`` is not the governor's guardian,
    ``proposal_not_loosening`` (409) when the proposal is not loosening, neither when it was
    made nor now, ``proposal_not_cancellable`` (409) once it is executed, defeated or
    canceled, ``unknown_proposal`` (404) when it is not indexed.
    """
    prepared = prepare_guardian_cancel(
        session,
        ctx.w3,
        ctx.deployment,
        proposal_id=int(proposal_id),
        guardian=None if body is None else body.guardian,
    )
    return PreparedCancelPublic.of(prepared)


@router.post(
    "/proposals/{proposal_id}/guardian-cancel",
    response_model=GuardianCancelSubmitted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(400, 403, 404, 409, 413, 503),
)
def submit_cancel(
    ctx: CtxDep, session: SessionDep, proposal_id: ProposalIdPath, body: GuardianCancelSubmit
) -> GuardianCancelSubmitted:
    """Accept the guardian's signed ``cancel`` transaction and queue it for broadcast (202).

    Refused before anything is stored or sent, each with its code: the refusals of the
    prepare route, a transaction that does not cancel this proposal (``not_a_cancel_call``),
    and those of every signed transaction (``wrong_chain``, ``gas_limit_too_low``,
    ``fees_not_minable``, ``insufficient_funds``, ``wrong_transaction_nonce``).
    """
    raw = bytes.fromhex(body.raw_transaction[2:])
    item, cancel = submit_guardian_cancel(
        session, raw, w3=ctx.w3, deployment=ctx.deployment, proposal_id=int(proposal_id)
    )
    return GuardianCancelSubmitted.of(RelayPublic.of(item), cancel)
