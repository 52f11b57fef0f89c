"""The protection of loosening: the governor's parameters, and each proposal's classification
and veto window."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from governance.index.apply import recorded_supermajority
from governance.index.models import Proposal
from governance.index.read import IndexedProtection
from governance.protection import (
    GUARDIAN_CANCELLABLE_STATES,
    ChangeLabel,
    Protection,
    majority_needed,
)


class Fraction(BaseModel):
    numerator: int
    denominator: int


class ProtectionPublic(BaseModel):
    """The governor's rules for loosening proposals now, read from the chain."""

    block: int = Field(description="the block these were read at")
    guardian: str | None = Field(description="may cancel loosening proposals; null: nobody")
    supermajority: Fraction = Field(
        description="the share of FOR among FOR + AGAINST a loosening proposal made now needs"
    )
    voting_period: int = Field(description="blocks the vote on other proposals lasts")
    loosening_voting_period: int = Field(description="minimum blocks a loosening vote lasts")
    timelock_delay: int = Field(description="seconds between queueing and execution")

    @classmethod
    def of(cls, protection: Protection, block: int) -> ProtectionPublic:
        fraction = protection.supermajority
        return cls(
            block=block,
            guardian=protection.guardian,
            supermajority=Fraction(numerator=fraction.numerator, denominator=fraction.denominator),
            voting_period=protection.voting_period,
            loosening_voting_period=protection.loosening_voting_period,
            timelock_delay=protection.timelock_delay,
        )


class MajorityNeeded(BaseModel):
    """FOR among FOR + AGAINST: ``more_than`` 1/2 for most proposals, ``at_least`` the
    supermajority recorded when a loosening one was made (and one FOR vote)."""

    numerator: int
    denominator: int
    rule: Literal["more_than", "at_least"]


class EarliestExecution(BaseModel):
    """When the proposal may execute at the earliest: after its vote ends (``after_block``),
    then queueing and the timelock delay; once queued, at ``eta`` (unix seconds)."""

    after_block: int | None = None
    eta: int | None = None


class Veto(BaseModel):
    """Whether the fairness guardian may cancel the proposal now, and until when."""

    cancellable_by_guardian: bool
    until: Literal["execution"] = "execution"
    earliest_execution: EarliestExecution


class ProposalProtection(BaseModel):
    """How the governor classified the proposal when it was made, and what that means."""

    loosening: bool
    changes: list[ChangeLabel] = Field(description="the classifier's label of each call")
    majority_needed: MajorityNeeded
    voting_ends_block: int = Field(description="the deadline, after late-quorum extensions")
    guardian: str | None = Field(description="the guardian now, as indexed")
    veto: Veto

    @classmethod
    def of(cls, p: Proposal, protection: IndexedProtection | None) -> ProposalProtection | None:
        """None for a proposal the index has not seen classified."""
        if p.loosening is None:
            return None
        needed = majority_needed(p.loosening, recorded_supermajority(p))
        guardian = None if protection is None else protection.guardian
        queued = p.eta is not None
        return cls(
            loosening=p.loosening,
            changes=p.changes_list(),  # type: ignore[arg-type]
            majority_needed=MajorityNeeded(
                numerator=needed.numerator,
                denominator=needed.denominator,
                rule="at_least" if p.loosening else "more_than",
            ),
            voting_ends_block=p.deadline,
            guardian=guardian,
            veto=Veto(
                cancellable_by_guardian=guardian is not None
                and p.loosening
                and p.state in GUARDIAN_CANCELLABLE_STATES,
                earliest_execution=EarliestExecution(
                    after_block=None if queued else p.deadline, eta=p.eta
                ),
            ),
        )
