"""Data providers: offer a dataset with an EIP-712 signature; record owners check inclusion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, status
from pydantic import ValidationError

from api.deps import CtxDep, SessionDep
from api.errors import NotFound, responses
from api.schemas.common import ADDRESS_PATTERN, HASH_PATTERN, RelayPublic
from api.schemas.providers import (
    InclusionCheck,
    InclusionPublic,
    OfferAccepted,
    OfferPrepare,
    OfferPrepared,
    OfferSubmit,
    WithdrawalPrepared,
    WithdrawalSubmit,
)
from audit.inclusion import check_inclusion
from audit.manifest import check_offers_registered, manifest_by_hash
from governance.actions import AllowDataset, DatasetOffer, DatasetWithdrawal, describe
from governance.actions._consent import OFFER_FIELDS, WITHDRAWAL_FIELDS
from governance.consent import check_offer, offer_typed_data, withdrawal_typed_data
from governance.errors import InvalidOffer, InvalidWithdrawal
from governance.intake.withdrawals import accept_withdrawal
from governance.messages.json_fields import check_message
from governance.policy.snapshot import read_snapshot

router = APIRouter(tags=["providers"])

_DAY = 24 * 3600
_T = TypeVar("_T")


def _parse(
    message: dict[str, Any],
    fields: list[dict[str, str]],
    build: Callable[[], _T],
    invalid: type[InvalidOffer | InvalidWithdrawal],
) -> _T:
    """A signed message's model from the wallet's JSON, or ``invalid`` with the first problem.

    Every field's JSON type is checked against the EIP-712 type first: a null, list or
    object where an integer belongs was a ``TypeError`` in the model, answered 500 (review).
    """
    try:
        check_message(message, fields)
        return build()
    except ValidationError as exc:
        raise invalid(exc.errors()[0]["msg"]) from None
    except ValueError as exc:
        raise invalid(str(exc)) from None


@router.post(
    "/providers/offers/prepare", response_model=OfferPrepared, responses=responses(404, 413, 503)
)
def prepare_offer(ctx: CtxDep, session: SessionDep, body: OfferPrepare) -> OfferPrepared:
    """The typed data of an offer of a registered manifest, dated at the chain's latest block.

    Refused with ``manifest_lacks_records_root`` (422) for a manifest registered without
    record commitments, ``provider_mismatch`` (422) when the manifest names another provider.
    """
    manifest = manifest_by_hash(session, body.manifest_hash)
    if manifest is None:
        raise NotFound("manifest", body.manifest_hash)
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    offer = manifest.offer(
        provider=body.provider,
        issued_at=now,
        deadline=now + body.valid_days * _DAY,
        terms_hash=body.terms_hash,
    )
    return OfferPrepared(
        typed_data=offer_typed_data(offer, ctx.deployment), message=offer.message()
    )


@router.post(
    "/providers/offers",
    response_model=OfferAccepted,
    responses=responses(403, 404, 409, 413, 503),
)
def submit_offer(ctx: CtxDep, session: SessionDep, body: OfferSubmit) -> OfferAccepted:
    """Check a signed offer with the policy contract itself and return its ``allow_dataset``
    action. Nothing is stored or sent: put the action in a proposal.

    Refused first, before asking the chain, with ``manifest_not_registered`` (404) when no
    registration here stored the offered manifest (a proposal of it is refused, and a
    governed run reads the voted manifest from here). Then, before any gas, with the
    policy's own reasons: ``offer_signature_invalid`` (403) when the provider did not sign it
    (EOA or EIP-1271 wallet), ``not_dataset_provider`` (403), ``offer_expired`` and
    ``offer_not_yet_valid`` (422), ``offer_stale`` and ``consent_withdrawn`` (409).
    """
    action = _parse(
        body.message,
        OFFER_FIELDS,
        lambda: AllowDataset(
            offer=DatasetOffer.from_message(body.message),
            provider_signature=body.signature.lower(),
            name=body.name,
        ),
        InvalidOffer,
    )
    check_offers_registered(session, [action])
    check_offer(ctx.w3, ctx.deployment, action)
    return OfferAccepted(action=action.model_dump(mode="json"), summary=describe(action))


@router.get(
    "/providers/withdrawals/typed-data",
    response_model=WithdrawalPrepared,
    responses=responses(503),
)
def withdrawal_typed(
    ctx: CtxDep,
    dataset_id: Annotated[str, Query(pattern=HASH_PATTERN, description="the dataset's id")],
    provider: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="its provider")],
) -> WithdrawalPrepared:
    """The typed data of a withdrawal of consent, dated at the latest block, for the
    provider's wallet (``eth_signTypedData_v4``)."""
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    withdrawal = DatasetWithdrawal(dataset_id=dataset_id, provider=provider, issued_at=now)
    return WithdrawalPrepared(
        typed_data=withdrawal_typed_data(withdrawal, ctx.deployment),
        message=withdrawal.message(),
    )


@router.post(
    "/providers/withdrawals",
    response_model=RelayPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(403, 409, 413, 503),
)
def submit_withdrawal(ctx: CtxDep, session: SessionDep, body: WithdrawalSubmit) -> RelayPublic:
    """Accept a provider's signed withdrawal and queue ``withdrawDatasetBySig`` for the
    relayer, which pays the gas (202). Every model trained on the dataset is blocked from the
    block fairgov's index sees it in.

    Refused before anything is stored or sent, with the policy's own reasons:
    ``withdrawal_signature_invalid`` (403) when the provider did not sign it,
    ``not_dataset_provider`` (403) for someone else's dataset, ``withdrawal_stale`` (409)
    when it is not newer than the provider's last withdrawal (a replay); and when it would
    change nothing at the relayer's expense: ``withdrawal_target_unknown`` (404) for a
    dataset neither allowed nor offered, ``withdrawal_not_provider`` (403) when no open
    offer it would void is the signer's; ``contract_wallet_must_send`` (403) for a contract
    wallet one of whose relayed calls reverted on chain; ``invalid_withdrawal`` (422) for a
    message that is not a DatasetWithdrawal.
    """
    withdrawal = _parse(
        body.message,
        WITHDRAWAL_FIELDS,
        lambda: DatasetWithdrawal.from_message(body.message),
        InvalidWithdrawal,
    )
    policy = ctx.deployment.addresses.training_policy
    digest = withdrawal.digest(ctx.deployment.chain_id, policy)
    ctx.per_voter.check_signer(withdrawal.provider, digest, body.signature, "provider")
    item = accept_withdrawal(
        session,
        ctx.w3,
        ctx.rpc(),
        ctx.deployment,
        withdrawal=withdrawal,
        signature=body.signature.lower(),
    )
    return RelayPublic.of(item)


@router.post(
    "/datasets/{dataset_id}/inclusion",
    response_model=InclusionPublic,
    responses=responses(404, 413, 503),
)
def inclusion(
    ctx: CtxDep,
    session: SessionDep,
    dataset_id: Annotated[str, Path(pattern=HASH_PATTERN, description="keccak256 of the name")],
    body: InclusionCheck,
) -> InclusionPublic:
    """Check that a record is in a dataset, against the records root on chain, and list the
    audited models the dataset trained.

    Refused with ``record_not_in_dataset`` (422) when the record, salt and proof do not
    lead to the root, ``dataset_not_in_policy`` (404) for a dataset never allowed.
    """
    snapshot = read_snapshot(ctx.w3, ctx.deployment.addresses.training_policy)
    result = check_inclusion(
        session,
        snapshot,
        dataset_id=dataset_id,
        record=body.record,
        salt=bytes.fromhex(body.salt[2:]),
        proof=body.proof,
    )
    return InclusionPublic.of(result)
