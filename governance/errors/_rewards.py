"""Errors of the providers' rewards: statements, splits, roots and claims (#15).

Every claim error is found before a claim is relayed, so a bad claim never costs gas.
"""

from __future__ import annotations

from typing import ClassVar

from core.errors import ErrorCategory
from governance.errors._base import GovernanceError


class NoContributions(GovernanceError):
    """A split needs at least one contribution with rows."""

    code: ClassVar[str] = "reward_no_contributions"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"run {run_id} has no dataset with a provider and rows: nothing to reward; "
            "allow datasets with their provider's signed offer",
            run_id=run_id,
        )


class InvalidContribution(GovernanceError):
    """A contribution's numbers cannot be split (negative rows, a missing utility)."""

    code: ClassVar[str] = "reward_invalid_contribution"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, dataset_id: str, reason: str) -> None:
        super().__init__(
            f"the contribution of dataset {dataset_id} cannot be split: {reason}",
            dataset_id=dataset_id,
            reason=reason,
        )


class StatementHashMismatch(GovernanceError):
    """The statement's sha256 is not the hash anchored with the epoch's root."""

    code: ClassVar[str] = "statement_hash_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, *, epoch: int, anchored: str, actual: str) -> None:
        super().__init__(
            f"the statement's hash {actual} is not the one anchored for epoch {epoch} "
            f"({anchored}): download the statement again, and do not trust this one",
            epoch=epoch,
            anchored=anchored,
            actual=actual,
        )


class StatementNotTheEpochs(GovernanceError):
    """The statement's hash is the one anchored, but the epoch on chain pays by another root,
    for another run or total, or is on another chain or contract: a poster can anchor any
    statement's hash beside a root of its own."""

    code: ClassVar[str] = "statement_epoch_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, *, epoch: int, field: str, stated: str, on_chain: str) -> None:
        super().__init__(
            f"epoch {epoch}'s {field} on chain ({on_chain}) is not the statement's "
            f"({stated}): the epoch does not pay by this statement; ask the guardian to "
            "cancel its root",
            epoch=epoch,
            field=field,
            stated=stated,
            on_chain=on_chain,
        )


class StatementNotHeld(GovernanceError):
    """An epoch posted on chain for which this service holds no statement."""

    code: ClassVar[str] = "reward_statement_unknown"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, epoch: int) -> None:
        super().__init__(
            f"epoch {epoch} was posted on chain, but this fairgov holds no statement for it "
            "(this service did not post it): ask the guardian to check its root",
            epoch=epoch,
        )


class StatementDoesNotRecompute(GovernanceError):
    """The statement's amounts or root are not what its inputs give."""

    code: ClassVar[str] = "statement_not_recomputable"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, field: str, stated: str, recomputed: str) -> None:
        super().__init__(
            f"the statement's {field} ({stated:.80}) is not what its inputs give "
            f"({recomputed:.80}): the split is wrong; ask the guardian to cancel the root",
            field=field,
            stated=stated,
            recomputed=recomputed,
        )


class UnknownEpoch(GovernanceError):
    """No root was posted for this epoch (or run)."""

    code: ClassVar[str] = "reward_unknown_epoch"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, epoch: str) -> None:
        super().__init__(
            f"no reward root was posted for epoch {epoch}: list the epochs with "
            "`fairgov rewards list`",
            epoch=epoch,
        )


class NotInStatement(GovernanceError):
    """The account has no amount in the epoch's statement."""

    code: ClassVar[str] = "reward_not_in_statement"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, *, epoch: int, account: str) -> None:
        super().__init__(
            f"{account} has no reward in epoch {epoch}: only the providers of the datasets "
            "that trained the model are paid",
            epoch=epoch,
            account=account,
        )


class InvalidRewardProof(GovernanceError):
    """The proof does not show (account, amount) under the epoch's root."""

    code: ClassVar[str] = "reward_invalid_proof"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, *, epoch: int, account: str, amount: int) -> None:
        super().__init__(
            f"the proof does not show {account} with {amount} under epoch {epoch}'s root: "
            "fetch the proof again from fairgov",
            epoch=epoch,
            account=account,
            amount=str(amount),
        )


class RewardAlreadyClaimed(GovernanceError):
    """The account claimed this epoch already (on chain, or a claim is queued)."""

    code: ClassVar[str] = "reward_already_claimed"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, *, epoch: int, account: str) -> None:
        super().__init__(
            f"{account} already claimed epoch {epoch}: nothing more to claim",
            epoch=epoch,
            account=account,
        )


class RewardEpochCancelled(GovernanceError):
    """The guardian or the DAO cancelled the epoch's root."""

    code: ClassVar[str] = "reward_epoch_cancelled"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, epoch: int) -> None:
        super().__init__(
            f"epoch {epoch}'s root was cancelled in its challenge window: it pays nothing",
            epoch=epoch,
        )


class ChallengeWindowOpen(GovernanceError):
    """Claims wait until the challenge window is over."""

    code: ClassVar[str] = "reward_window_open"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, *, epoch: int, ends: int) -> None:
        super().__init__(
            f"epoch {epoch} is in its challenge window until {ends} (unix time): claim after it",
            epoch=epoch,
            ends=ends,
        )


class ClaimExpired(GovernanceError):
    """The signed claim's deadline has passed."""

    code: ClassVar[str] = "reward_claim_expired"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, *, epoch: int, deadline: int) -> None:
        super().__init__(
            f"the claim of epoch {epoch} expired at {deadline}: fetch the typed data and sign "
            "again",
            epoch=epoch,
            deadline=deadline,
        )


class ClaimDeadlineTooSoon(GovernanceError):
    """The signed claim's deadline leaves the relayer too little time to get it mined."""

    code: ClassVar[str] = "reward_claim_deadline_too_soon"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, *, epoch: int, deadline: int, earliest: int) -> None:
        super().__init__(
            f"the claim of epoch {epoch} has deadline {deadline}, too soon for the relayer to "
            f"get it mined: sign again with a deadline of at least {earliest} (unix time)",
            epoch=epoch,
            deadline=deadline,
            earliest=earliest,
        )


class WalletRefusedClaim(GovernanceError):
    """A contract wallet's ``isValidSignature`` does not accept the claim's signature."""

    code: ClassVar[str] = "reward_wallet_refused_signature"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, *, account: str) -> None:
        super().__init__(
            f"the contract wallet {account} does not accept this signature (EIP-1271 "
            "isValidSignature): sign the claim's typed data as the wallet requires",
            account=account,
        )


class CallWouldRevert(GovernanceError):
    """A signed call to relay fails when simulated: relaying it would only burn gas."""

    code: ClassVar[str] = "signed_call_would_revert"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, *, to: str, reason: str) -> None:
        super().__init__(
            f"the call to {to} would revert ({reason}): nothing was queued; fix the input",
            to=to,
            reason=reason,
        )


class RewardPostRefused(GovernanceError):
    """Posting the root would revert; nothing was sent."""

    code: ClassVar[str] = "reward_post_refused"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(
            f"the reward root of run {run_id} cannot be posted ({reason}): nothing was sent; "
            "fund the rewards contract or grant the auditor POSTER_ROLE",
            run_id=run_id,
            reason=reason,
        )


class RewardRunNotApproved(GovernanceError):
    """The AuditRegistry holds no passing audit for the run (RewardsRunNotApproved)."""

    code: ClassVar[str] = "reward_run_not_approved"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"run {run_id} has no passing audit in the AuditRegistry: only an approved model's "
            "run is paid; anchor its PASS report before posting its reward root",
            run_id=run_id,
        )


class RewardPostConflict(GovernanceError):
    """The run's epoch on chain holds another root or statement hash than ours."""

    code: ClassVar[str] = "reward_post_conflict"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, run_id: str, field: str, anchored: str, ours: str) -> None:
        super().__init__(
            f"run {run_id} already has a reward epoch whose {field} is {anchored}, not "
            f"{ours}: the stored statement is not the one posted; investigate before claiming",
            run_id=run_id,
            field=field,
            anchored=anchored,
            ours=ours,
        )
