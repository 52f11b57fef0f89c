"""Providers' rewards (public): a provider's epochs, the statements, proofs and gasless claims.

A statement is served only after it is checked against the chain (its sha256 is the epoch's
anchored ``statementHash``, and it recomputes); a proof only from such a statement. A claim
is signed in the provider's wallet (``eth_signTypedData_v4`` over the typed data served here)
and posted; fairgov checks it, simulates ``claimBySig`` and relays it, paying the gas. A bad
claim is refused with its code before anything is queued.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import CtxDep, SessionDep
from api.errors import responses
from api.schemas.common import ADDRESS_PATTERN, RelayPublic
from api.schemas.rewards import (
    ClaimCreate,
    ClaimTypedDataPublic,
    ProofPublic,
    RewardPublic,
    RewardsPublic,
)
from audit.rewards.claims import claim_inputs, provider_rewards, verified_statement
from core.types import to_address
from governance.rewards import SignedClaim, accept_claim, claim_typed_data, rewards_domain

router = APIRouter(prefix="/rewards", tags=["rewards"])

EpochPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The epoch (from 1).")]
Account = Annotated[str, Query(pattern=ADDRESS_PATTERN, description="The provider's address.")]
#: How long a served claim stays valid when the client does not choose a deadline.
CLAIM_VALIDITY_SECONDS = 3600


@router.get("", response_model=RewardsPublic, responses=responses(503))
def list_rewards(ctx: CtxDep, session: SessionDep, provider: Account) -> RewardsPublic:
    """Every posted epoch that pays ``provider``: amount and status (pending_window,
    claimable, claiming, claimed, cancelled)."""
    found = provider_rewards(session, ctx.w3, ctx.deployment.addresses.rewards, provider)
    return RewardsPublic(data=[RewardPublic.of(r) for r in found], count=len(found))


@router.get(
    "/epochs/{epoch}/statement",
    response_class=Response,
    responses={
        **responses(404, 409, 503),
        200: {"content": {"application/json": {}}, "description": "The canonical JSON."},
    },
)
def statement(ctx: CtxDep, session: SessionDep, epoch: EpochPath) -> Response:
    """The reward statement's canonical JSON; its sha256 is the epoch's ``statementHash``."""
    found = verified_statement(session, ctx.w3, ctx.deployment.addresses.rewards, epoch)
    return Response(
        found.canonical_json(),
        media_type="application/json",
        headers={"ETag": f'"{found.hash}"', "X-Fairgov-Statement-Hash": found.hash},
    )


@router.get("/epochs/{epoch}/proof", response_model=ProofPublic, responses=responses(404, 409, 503))
def proof(ctx: CtxDep, session: SessionDep, epoch: EpochPath, account: Account) -> ProofPublic:
    """``account``'s amount and Merkle proof in ``epoch`` (to claim directly, or to sign)."""
    rewards = ctx.deployment.addresses.rewards
    return ProofPublic.of(claim_inputs(session, ctx.w3, rewards, epoch, account))


@router.get(
    "/epochs/{epoch}/claim",
    response_model=ClaimTypedDataPublic,
    responses=responses(404, 409, 503),
)
def claim_typed(
    ctx: CtxDep,
    session: SessionDep,
    epoch: EpochPath,
    account: Account,
    deadline: Annotated[
        int | None,
        Query(ge=0, lt=2**64, description="unix time; default an hour after the latest block"),
    ] = None,
) -> ClaimTypedDataPublic:
    """The Claim typed data to sign with ``eth_signTypedData_v4``, with the amount and proof."""
    rewards = ctx.deployment.addresses.rewards
    inputs = claim_inputs(session, ctx.w3, rewards, epoch, account)
    if deadline is None:  # the chain's clock decides expiry, not ours
        deadline = int(ctx.w3.eth.get_block("latest")["timestamp"]) + CLAIM_VALIDITY_SECONDS
    typed = claim_typed_data(
        rewards_domain(ctx.deployment.chain_id, rewards),
        epoch=epoch,
        account=inputs.account,
        amount=inputs.amount,
        deadline=deadline,
    )
    return ClaimTypedDataPublic(
        typed_data=typed, amount=str(inputs.amount), proof=list(inputs.proof), deadline=deadline
    )


@router.post(
    "/epochs/{epoch}/claims",
    response_model=RelayPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(400, 403, 404, 409, 413, 503),
)
def claim(ctx: CtxDep, session: SessionDep, epoch: EpochPath, body: ClaimCreate) -> RelayPublic:
    """Accept a signed claim and queue ``claimBySig`` for the relayer (202). Refused before
    any gas: ``signer_mismatch`` (signed by another address), ``reward_invalid_proof``,
    ``reward_already_claimed``, ``reward_epoch_cancelled``, ``reward_window_open``,
    ``reward_claim_expired``, ``signed_call_would_revert`` (simulated with the fees the
    relayer pays), ``contract_wallet_must_send`` (a contract wallet one of whose relayed calls
    reverted on chain)."""
    signed = SignedClaim(
        epoch=epoch,
        account=to_address(body.account),
        amount=int(body.amount),
        deadline=body.deadline,
        proof=body.proof_steps(),
        signature=body.signature,
    )
    rewards = ctx.deployment.addresses.rewards
    digest = signed.digest(rewards_domain(ctx.deployment.chain_id, rewards))
    ctx.per_voter.check_signer(body.account, digest, body.signature, "account")
    return RelayPublic.of(accept_claim(session, ctx.w3, ctx.rpc(), signed, rewards=rewards))
