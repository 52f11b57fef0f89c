"""Data providers: offer a dataset with an EIP-712 signature; record owners check inclusion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import ValidationError

from api.deps import CtxDep, SessionDep
from api.errors import NotFound, responses
from api.schemas.common import HASH_PATTERN
from api.schemas.providers import (
    InclusionCheck,
    InclusionPublic,
    OfferAccepted,
    OfferPrepare,
    OfferPrepared,
    OfferSubmit,
)
from audit.inclusion import check_inclusion
from audit.manifest import manifest_by_hash
from governance.actions import AllowDataset, DatasetOffer, describe
from governance.consent import check_offer, offer_typed_data
from governance.errors import InvalidOffer
from governance.policy.snapshot import read_snapshot

router = APIRouter(tags=["providers"])

_DAY = 24 * 3600


@router.post(
    "/providers/offers/prepare", response_model=OfferPrepared, responses=responses(404, 503)
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


@router.post("/providers/offers", response_model=OfferAccepted, responses=responses(403, 409, 503))
def submit_offer(ctx: CtxDep, body: OfferSubmit) -> OfferAccepted:
    """Check a signed offer with the policy contract itself and return its ``allow_dataset``
    action. Nothing is stored or sent: put the action in a proposal.

    Refused, before any gas, with the policy's own reasons: ``offer_signature_invalid`` (403)
    when the provider did not sign it (EOA or EIP-1271 wallet), ``not_dataset_provider``
    (403), ``offer_expired`` and ``offer_not_yet_valid`` (422), ``offer_stale`` and
    ``consent_withdrawn`` (409).
    """
    try:
        offer = DatasetOffer.from_message(body.message)
        action = AllowDataset(
            offer=offer, provider_signature=body.signature.lower(), name=body.name
        )
    except KeyError as exc:
        raise InvalidOffer(f"it lacks {exc}") from None
    except (ValueError, ValidationError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise InvalidOffer(first) from None
    check_offer(ctx.w3, ctx.deployment, action)
    return OfferAccepted(action=action.model_dump(mode="json"), summary=describe(action))


@router.post(
    "/datasets/{dataset_id}/inclusion",
    response_model=InclusionPublic,
    responses=responses(404, 503),
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
