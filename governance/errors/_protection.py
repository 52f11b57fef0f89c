"""Errors of the protection of loosening: its parameters, and the guardian's cancel."""

from __future__ import annotations

from typing import ClassVar

from core.errors import ErrorCategory
from governance.errors._base import GovernanceError
from governance.errors._messages import SignatureError

UINT32_LIMIT = 2**32


class InvalidSupermajority(GovernanceError):
    """A supermajority that is not a fraction in (1/2, 1] (FairnessGovernorInvalidSupermajority)."""

    code: ClassVar[str] = "invalid_supermajority"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, numerator: object, denominator: object) -> None:
        super().__init__(
            f"the supermajority {numerator}/{denominator} is invalid: use a fraction above one "
            "half and at most one, with whole numbers below 2**64, for example 2/3",
            numerator=str(numerator),
            denominator=str(denominator),
        )


class InvalidLooseningPeriod(GovernanceError):
    """A minimum voting period of loosening proposals outside 1 .. 2**32 - 1 blocks."""

    code: ClassVar[str] = "invalid_loosening_period"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, blocks: object) -> None:
        super().__init__(
            f"the loosening voting period {blocks!r} is invalid: use a whole number of blocks "
            f"from 1 to {UINT32_LIMIT - 1}",
            blocks=str(blocks),
        )


class NotGuardian(GovernanceError):
    """Someone other than the fairness guardian asked to cancel a proposal as guardian."""

    code: ClassVar[str] = "not_guardian"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, sender: str, guardian: str | None) -> None:
        who = (
            "there is no fairness guardian (governance removed it)"
            if guardian is None
            else f"the fairness guardian is {guardian}"
        )
        super().__init__(
            f"{sender} may not cancel as guardian: {who}; sign with the guardian's key",
            sender=sender,
            guardian=guardian,
        )


class ProposalNotLoosening(GovernanceError):
    """The guardian may cancel only proposals that are loosening (when made or now)."""

    code: ClassVar[str] = "proposal_not_loosening"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, proposal_id: int) -> None:
        super().__init__(
            f"proposal {proposal_id} does not loosen the fairness policy or its protection "
            "(neither when it was made nor now), so the guardian may not cancel it",
            proposal_id=str(proposal_id),
        )


class ProposalNotCancellable(GovernanceError):
    """The proposal is past the point where the guardian may cancel it."""

    code: ClassVar[str] = "proposal_not_cancellable"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, proposal_id: int, state: str) -> None:
        super().__init__(
            f"proposal {proposal_id} is {state}: the guardian may cancel only while it is "
            "Pending, Active, Succeeded or Queued",
            proposal_id=str(proposal_id),
            state=state,
        )


class NotACancelCall(SignatureError):
    """A signed transaction to the governor does not cancel a proposal."""

    code: ClassVar[str] = "not_a_cancel_call"

    def __init__(self, selector: str, problem: str) -> None:
        super().__init__(
            f"the transaction is not a governor cancel call ({problem})",
            selector=selector,
            problem=problem,
        )
