"""Errors of signed ballots and delegations: signatures, nonces and the proposal's state."""

from __future__ import annotations

from typing import ClassVar

from core.errors import ErrorCategory
from governance.errors._base import GovernanceError


class SignatureError(GovernanceError):
    """Root of the errors found when checking what a wallet signed: a ballot, a delegation or
    a propose transaction. What was signed does not verify, so the request is malformed."""

    code: ClassVar[str] = "signature_error"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID


class InvalidSignature(SignatureError):
    """The signature cannot be recovered."""

    code: ClassVar[str] = "invalid_signature"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the signature is invalid ({reason}): sign the typed data again", reason=reason
        )


class SignatureMalleable(SignatureError):
    """A high-s signature: the malleable twin of a valid one."""

    code: ClassVar[str] = "signature_malleable"

    def __init__(self) -> None:
        super().__init__("the signature has a high s value: send the canonical (low-s) signature")


class SignerMismatch(SignatureError):
    """The recovered signer is not the claimed voter or delegator."""

    code: ClassVar[str] = "signer_mismatch"

    def __init__(self, *, claimed: str, recovered: str) -> None:
        super().__init__(
            f"the signature was made by {recovered}, not by {claimed}: sign with {claimed}'s "
            "wallet, over the typed data fairgov gave you",
            claimed=claimed,
            recovered=recovered,
        )


class WrongNonce(SignatureError):
    """The signed nonce is not the one the contract will check."""

    code: ClassVar[str] = "wrong_nonce"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, *, account: str, expected: int, actual: int) -> None:
        super().__init__(
            f"nonce {actual} is not {account}'s next nonce ({expected}): fetch the typed data "
            "again and sign it",
            account=account,
            expected=expected,
            actual=actual,
        )


class WrongChain(SignatureError):
    """The typed data's chain id is not this chain's."""

    code: ClassVar[str] = "wrong_chain"

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(
            f"the message was signed for chain {actual}, but fairgov runs on chain {expected}: "
            "switch the wallet's network and sign again",
            expected=expected,
            actual=actual,
        )


class WrongVerifyingContract(SignatureError):
    """The typed data's verifying contract is not ours."""

    code: ClassVar[str] = "wrong_verifying_contract"

    def __init__(self, *, expected: str, actual: str) -> None:
        super().__init__(
            f"the message names contract {actual}, not {expected}: sign the typed data fairgov "
            "gives you",
            expected=expected,
            actual=actual,
        )


class InvalidSupport(GovernanceError):
    """Support is not 0 (against), 1 (for) or 2 (abstain)."""

    code: ClassVar[str] = "invalid_support"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, support: int) -> None:
        super().__init__(
            f"support {support} is not a vote: use 0 (against), 1 (for) or 2 (abstain)",
            support=support,
        )


class UnknownProposal(GovernanceError):
    """No proposal has this id."""

    code: ClassVar[str] = "unknown_proposal"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, proposal_id: int) -> None:
        super().__init__(
            f"there is no proposal {proposal_id}: check the id", proposal_id=str(proposal_id)
        )


class ProposalNotActive(GovernanceError):
    """The proposal does not take votes now."""

    code: ClassVar[str] = "proposal_not_active"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, proposal_id: int, state: str, *, snapshot: int | None = None) -> None:
        if state == "Pending" and snapshot is not None:
            # Right after `propose` (review, session 26): say when it opens, not only "no".
            when = (
                f"voting opens once the chain is past block {snapshot} (its snapshot); "
                "send the ballot again then"
            )
        else:
            when = "votes are taken only while it is Active"
        super().__init__(
            f"proposal {proposal_id} is {state}, not Active: {when}",
            proposal_id=str(proposal_id),
            state=state,
            **({} if snapshot is None else {"snapshot": snapshot}),
        )


class AlreadyVoted(GovernanceError):
    """The voter has already voted on the proposal."""

    code: ClassVar[str] = "already_voted"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, proposal_id: int, voter: str) -> None:
        super().__init__(
            f"{voter} has already voted on proposal {proposal_id}: a vote cannot be changed",
            proposal_id=str(proposal_id),
            voter=voter,
        )


class BallotConflict(AlreadyVoted):
    """The voter already has another ballot on the proposal, accepted or on chain.

    The message says what differs from the first ballot (its support, its reason or its
    params), given the new ballot's ``new_support`` and ``new_reason`` (review, session 26:
    a new reason with the same support read "already voted … with support 1")."""

    code: ClassVar[str] = "ballot_conflict"

    def __init__(
        self,
        proposal_id: int,
        voter: str,
        *,
        support: int,
        reason: str | None,
        relay_id: int | None,
        new_support: int | None = None,
        new_reason: str | None = None,
    ) -> None:
        record = "" if relay_id is None else f" (relay record {relay_id})"
        GovernanceError.__init__(
            self,
            f"{voter} already voted on proposal {proposal_id}{record}: "
            f"{_ballot_difference(support, reason, new_support, new_reason)}; a vote cannot "
            "be changed",
            proposal_id=str(proposal_id),
            voter=voter,
            support=support,
            reason=reason,
            relay_id=relay_id,
        )


_SUPPORT_WORDS = {0: "against", 1: "for", 2: "abstain"}


def _ballot_difference(
    support: int, reason: str | None, new_support: int | None, new_reason: str | None
) -> str:
    """What the new ballot changes of the first one, in words."""

    def vote(value: int) -> str:
        return f"{_SUPPORT_WORDS.get(value, 'support')} ({value})"

    def said(text: str | None) -> str:
        return repr(text) if text else "no reason"

    if new_support is None:
        return f"the first ballot was {vote(support)} with {said(reason)}"
    other_support = new_support != support
    other_reason = (new_reason or "") != (reason or "")
    if other_support and other_reason:
        return (
            f"another support and reason: {vote(new_support)} with {said(new_reason)} where "
            f"the first was {vote(support)} with {said(reason)}"
        )
    if other_support:
        return f"another support: {vote(new_support)} where the first was {vote(support)}"
    if other_reason:
        return (
            f"the same support, {vote(support)}, but another reason: {said(new_reason)} where "
            f"the first gave {said(reason)}"
        )
    return f"the same support, {vote(support)}, and reason, but other params"


class DelegationConflict(GovernanceError):
    """Another delegation with the same delegator and nonce was accepted already."""

    code: ClassVar[str] = "delegation_conflict"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, delegator: str, nonce: int, *, delegatee: str, relay_id: int | None) -> None:
        super().__init__(
            f"{delegator} already has a delegation with nonce {nonce}, to {delegatee}: only "
            "one can be relayed; sign the next one with the next nonce",
            delegator=delegator,
            nonce=nonce,
            delegatee=delegatee,
            relay_id=relay_id,
        )


class NoVotingPower(GovernanceError):
    """The voter had no votes at the proposal's snapshot."""

    code: ClassVar[str] = "no_voting_power"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, voter: str, snapshot: int) -> None:
        super().__init__(
            f"{voter} had no voting power at block {snapshot}, the proposal's snapshot: "
            "tokens count only when delegated before the snapshot",
            voter=voter,
            snapshot=snapshot,
        )


class DelegationExpired(GovernanceError):
    """The delegation's expiry has passed."""

    code: ClassVar[str] = "delegation_expired"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, expiry: int) -> None:
        super().__init__(
            f"the delegation expired at {expiry} (unix time): sign a new one with a later expiry",
            expiry=expiry,
        )
