"""Errors of a data provider's consent: offers, withdrawals, and who the provider is.

Each mirrors one TrainingPolicy custom error, so the check made before any gas is spent and
the contract's own refusal carry the same code (:data:`CONSENT_ERRORS`).
"""

from __future__ import annotations

from typing import ClassVar, Final

from core.errors import ErrorCategory
from governance.errors._base import GovernanceError


class ConsentError(GovernanceError):
    """Root of the refusals of an offer or a withdrawal."""

    code: ClassVar[str] = "consent_error"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID


class InvalidOffer(ConsentError):
    """An offer message that is not a DatasetOffer (missing fields, bad hashes, zero root)."""

    code: ClassVar[str] = "invalid_offer"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"the offer is malformed: {problem}; send the message /prepare returned, unchanged",
            problem=problem,
        )


class InvalidWithdrawal(ConsentError):
    """A withdrawal message that is not a DatasetWithdrawal."""

    code: ClassVar[str] = "invalid_withdrawal"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"the withdrawal is malformed: {problem}; send the message the typed-data route "
            "returned, unchanged",
            problem=problem,
        )


class OfferSignatureInvalid(ConsentError):
    """The offer was not signed by its provider (TrainingPolicyInvalidOfferSignature)."""

    code: ClassVar[str] = "offer_signature_invalid"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, dataset_id: str, provider: str) -> None:
        super().__init__(
            f"the offer of dataset {dataset_id} is not signed by its provider {provider}: "
            "the provider must sign the offer's typed data in their own wallet",
            dataset_id=dataset_id,
            provider=provider,
        )


class WithdrawalSignatureInvalid(ConsentError):
    """The withdrawal was not signed by the provider (TrainingPolicyInvalidWithdrawalSignature)."""

    code: ClassVar[str] = "withdrawal_signature_invalid"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, dataset_id: str, provider: str) -> None:
        super().__init__(
            f"the withdrawal of dataset {dataset_id} is not signed by {provider}: the provider "
            "must sign the withdrawal's typed data in their own wallet",
            dataset_id=dataset_id,
            provider=provider,
        )


class OfferExpired(ConsentError):
    """The offer's deadline has passed (TrainingPolicyOfferExpired)."""

    code: ClassVar[str] = "offer_expired"

    def __init__(self, dataset_id: str, deadline: int) -> None:
        super().__init__(
            f"the offer of dataset {dataset_id} expired at {deadline} (unix time): ask the "
            "provider for a new offer with a later deadline",
            dataset_id=dataset_id,
            deadline=deadline,
        )


class OfferExpiresBeforeExecution(OfferExpired):
    """The offer's deadline comes before a proposal made now could execute it."""

    code: ClassVar[str] = "offer_expires_before_execution"

    def __init__(self, dataset_id: str, deadline: int, *, earliest: int) -> None:
        ConsentError.__init__(
            self,
            f"the offer of dataset {dataset_id} expires at {deadline} (unix time), before a "
            f"proposal made now could execute it (about {earliest}): ask the provider for a "
            "new offer with a later deadline",
            dataset_id=dataset_id,
            deadline=deadline,
            earliest=earliest,
        )


class OfferNotYetValid(ConsentError):
    """The offer is dated after the chain's time (TrainingPolicyOfferFromTheFuture)."""

    code: ClassVar[str] = "offer_not_yet_valid"

    def __init__(self, dataset_id: str, issued_at: int) -> None:
        super().__init__(
            f"the offer of dataset {dataset_id} is dated {issued_at} (unix time), after the "
            "chain's latest block: date it no later than now and sign it again",
            dataset_id=dataset_id,
            issued_at=issued_at,
        )


class OfferNotDated(ConsentError):
    """The offer's issuedAt is zero (TrainingPolicyOfferNotDated)."""

    code: ClassVar[str] = "offer_not_dated"

    def __init__(self, dataset_id: str) -> None:
        super().__init__(
            f"the offer of dataset {dataset_id} is dated 0: set issuedAt to the time the "
            "provider signs (unix seconds) and sign it again",
            dataset_id=dataset_id,
        )


class ContentRegistered(ConsentError):
    """The file is registered under another dataset id (TrainingPolicyContentRegistered)."""

    code: ClassVar[str] = "content_registered"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, content_hash: str, dataset_id: str) -> None:
        super().__init__(
            f"a file with content hash {content_hash} is registered as dataset {dataset_id}: "
            "the same bytes cannot be offered under another id; offer it as that dataset, by "
            "its provider",
            content_hash=content_hash,
            dataset_id=dataset_id,
        )


class NotDatasetProvider(ConsentError):
    """The account is not the dataset's recorded provider (TrainingPolicyNotProvider)."""

    code: ClassVar[str] = "not_dataset_provider"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, dataset_id: str, account: str) -> None:
        super().__init__(
            f"{account} is not the provider of dataset {dataset_id}: only the provider "
            "recorded on chain may offer a new version of it or withdraw it",
            dataset_id=dataset_id,
            account=account,
        )


class OfferStale(ConsentError):
    """The offer is not newer than the consent in force (TrainingPolicyStaleOffer)."""

    code: ClassVar[str] = "offer_stale"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, dataset_id: str, issued_at: int, consented_at: int) -> None:
        super().__init__(
            f"the offer of dataset {dataset_id} was issued at {issued_at}, not after the consent "
            f"in force ({consented_at}): a replayed or older offer cannot replace a newer one",
            dataset_id=dataset_id,
            issued_at=issued_at,
            consented_at=consented_at,
        )


class ConsentWithdrawn(ConsentError):
    """The provider withdrew consent after the offer was issued (TrainingPolicyConsentWithdrawn)."""

    code: ClassVar[str] = "consent_withdrawn"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, dataset_id: str, issued_at: int, withdrawn_at: int) -> None:
        super().__init__(
            f"the provider withdrew dataset {dataset_id} at {withdrawn_at}, after this offer was "
            f"issued ({issued_at}): only a newer offer from the provider can allow it again",
            dataset_id=dataset_id,
            issued_at=issued_at,
            withdrawn_at=withdrawn_at,
        )


class WithdrawalStale(ConsentError):
    """The withdrawal is not newer than the provider's last (TrainingPolicyStaleWithdrawal)."""

    code: ClassVar[str] = "withdrawal_stale"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, dataset_id: str, issued_at: int, withdrawn_at: int) -> None:
        super().__init__(
            f"the withdrawal of dataset {dataset_id} issued at {issued_at} is not newer than the "
            f"provider's last one ({withdrawn_at}): it is already in force",
            dataset_id=dataset_id,
            issued_at=issued_at,
            withdrawn_at=withdrawn_at,
        )


class ConsentRefused(ConsentError):
    """The policy contract refused an offer or a withdrawal for another reason."""

    code: ClassVar[str] = "consent_refused"

    def __init__(self, reason: str, revert_code: str) -> None:
        super().__init__(
            f"the TrainingPolicy would refuse this: {reason}",
            reason=reason,
            revert_code=revert_code,
        )


class WithdrawalChangesNothing(ConsentError):
    """A withdrawal of a dataset that is not allowed (never registered, revoked or withdrawn
    already) and that no open proposal offers: a mistyped name or id, or a repeat, whose
    transaction would succeed and change nothing."""

    code: ClassVar[str] = "withdrawal_target_unknown"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, dataset_id: str) -> None:
        super().__init__(
            f"dataset {dataset_id} is not allowed on chain and no open proposal offers it: "
            "a withdrawal would change nothing; check the name (it is exact, spaces and case "
            "count) or the id",
            dataset_id=dataset_id,
        )


class WithdrawalNotProvider(ConsentError):
    """A gasless withdrawal of a dataset that is not allowed now, by a signer who has no offer
    of it in an open proposal that the withdrawal would still void: the contract takes it from
    anyone and changes nothing, at the relayer's expense."""

    code: ClassVar[str] = "withdrawal_not_provider"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, dataset_id: str, provider: str) -> None:
        super().__init__(
            f"{provider} has no offer of dataset {dataset_id} in an open proposal that this "
            "withdrawal would void, and the dataset is not allowed on chain: relayed, it would "
            "change nothing; to void offers nobody has proposed, send it yourself "
            "(fairgov provider withdraw NAME --unlisted)",
            dataset_id=dataset_id,
            provider=provider,
        )


class WithdrawalAlreadyHeld(ConsentError):
    """A gasless withdrawal whose signer has another withdrawal of the same dataset on its way
    (queued or sent, not yet mined) that already voids every open offer of theirs this one
    would: relayed, it would change nothing, at the relayer's expense."""

    code: ClassVar[str] = "withdrawal_already_held"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, dataset_id: str, provider: str, relay_id: int | None) -> None:
        super().__init__(
            f"a withdrawal of dataset {dataset_id} signed by {provider} is already on its way "
            f"(relay #{relay_id}) and voids everything this one would: follow it at "
            f"/v1/relay/{relay_id}; sign a new one only after it is mined, if an offer of "
            "yours made since still needs voiding",
            dataset_id=dataset_id,
            provider=provider,
            relay_id=relay_id,
        )


#: The consent error of each TrainingPolicy custom error; arguments in the same order.
CONSENT_ERRORS: Final[dict[str, type[ConsentError]]] = {
    "TrainingPolicyInvalidOfferSignature": OfferSignatureInvalid,
    "TrainingPolicyInvalidWithdrawalSignature": WithdrawalSignatureInvalid,
    "TrainingPolicyOfferExpired": OfferExpired,
    "TrainingPolicyOfferFromTheFuture": OfferNotYetValid,
    "TrainingPolicyOfferNotDated": OfferNotDated,
    "TrainingPolicyContentRegistered": ContentRegistered,
    "TrainingPolicyNotProvider": NotDatasetProvider,
    "TrainingPolicyStaleOffer": OfferStale,
    "TrainingPolicyConsentWithdrawn": ConsentWithdrawn,
    "TrainingPolicyStaleWithdrawal": WithdrawalStale,
}
