"""The protection of loosening proposals, as the contracts enforce it.

The governor's :class:`PolicyChangeClassifier` decides, call by call, whether a proposal
loosens the fairness policy or the rules that protect it. This module reads that decision
and the parameters around it; it never re-implements the classifier, so what fairgov shows
a voter is what the chain will enforce.

- :func:`classify`: the classification of calls against the policy at a block (for a draft,
  or to see whether a pending proposal has become loosening).
- :func:`read_protection`: the guardian, the supermajority and the voting periods.
- :func:`majority_needed`: the share of FOR among FOR + AGAINST a proposal needs.
- :func:`majority_reached`: whether votes reach it (``Governor._voteSucceeded``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from web3 import Web3
from web3.types import BlockIdentifier

from core.types import Address, to_address
from governance.chain.contracts import bind
from governance.chain.deploy import Addresses

ZERO_ADDRESS = "0x" + "00" * 20
SIMPLE_MAJORITY = Fraction(1, 2)
#: The states in which the guardian may cancel a loosening proposal: until it executes.
GUARDIAN_CANCELLABLE_STATES: tuple[str, ...] = ("Pending", "Active", "Succeeded", "Queued")


class Change(enum.IntEnum):
    """Why one call is, or is not, loosening (IPolicyChangeClassifier.Change, in order)."""

    NONE = 0
    THRESHOLD_WEAKENED = 1
    THRESHOLD_CLEARED = 2
    MITIGATION_WEAKENED = 3
    EVIDENCE_WEAKENED = 4
    PROTECTION_CHANGED = 5
    AUDITORS_CHANGED = 6
    UNRECOGNISED = 7
    FEDERATION_WEAKENED = 8
    MANIFEST_REPLACED = 9
    TREASURY_MOVED = 10
    REWARDS_LOOSENED = 11

    @property
    def label(self) -> str:
        """The lower-case name shown in the API and the CLI (``threshold_weakened``)."""
        return self.name.lower()


ChangeLabel = Literal[
    "none",
    "threshold_weakened",
    "threshold_cleared",
    "mitigation_weakened",
    "evidence_weakened",
    "protection_changed",
    "auditors_changed",
    "unrecognised",
    "federation_weakened",
    "manifest_replaced",
    "treasury_moved",
    "rewards_loosened",
]


@dataclass(frozen=True)
class Classification:
    """Whether a proposal is loosening, and why, call by call."""

    loosening: bool
    changes: tuple[Change, ...]

    @classmethod
    def of_codes(cls, loosening: bool, codes: Sequence[int]) -> Classification:
        """From the classifier's return value or the ProposalClassified event."""
        return cls(loosening=loosening, changes=tuple(Change(c) for c in codes))


@dataclass(frozen=True)
class Protection:
    """The governor's rules for loosening proposals, as they stand."""

    guardian: Address | None
    supermajority: Fraction
    voting_period: int
    loosening_voting_period: int
    timelock_delay: int

    def voting_period_for(self, loosening: bool) -> int:
        """Blocks the vote on a new proposal would last."""
        if loosening:
            return max(self.voting_period, self.loosening_voting_period)
        return self.voting_period


def majority_needed(loosening: bool, supermajority: Fraction) -> Fraction:
    """The share of FOR among FOR + AGAINST a proposal needs.

    A simple majority means strictly more than 1/2; a supermajority means at least the
    fraction (and at least one FOR vote).
    """
    return supermajority if loosening else SIMPLE_MAJORITY


def majority_reached(
    for_votes: int, against_votes: int, *, loosening: bool, supermajority: Fraction
) -> bool:
    """Whether the votes pass, as the governor's ``_voteSucceeded`` decides.

    A loosening proposal needs at least ``supermajority`` of FOR + AGAINST and one FOR vote
    (``supermajorityReached``); any other strictly more FOR than AGAINST.

    Examples
    --------
    >>> majority_reached(60, 40, loosening=True, supermajority=Fraction(2, 3))
    False
    """
    if not loosening:
        return for_votes > against_votes
    needed = supermajority
    return (
        for_votes > 0
        and for_votes * needed.denominator >= (for_votes + against_votes) * needed.numerator
    )


def classify(
    w3: Web3,
    addresses: Addresses,
    targets: Sequence[str],
    calldatas: Sequence[bytes],
    *,
    block: BlockIdentifier = "latest",
) -> Classification:
    """How the governor would classify these calls against the policy at ``block``.

    Examples
    --------
    >>> classify(w3, deployment.addresses, *encode_targets_and_calldatas).loosening
    True
    """
    governor = bind(w3, "FairnessGovernor", addresses.governor)
    loosening, codes = governor.functions.classify(
        [to_address(t) for t in targets], [bytes(c) for c in calldatas]
    ).call(block_identifier=block)
    return Classification.of_codes(bool(loosening), codes)


def read_protection(
    w3: Web3, addresses: Addresses, *, block: BlockIdentifier = "latest"
) -> Protection:
    """The guardian, the supermajority and the voting periods at ``block``."""
    governor = bind(w3, "FairnessGovernor", addresses.governor).functions
    timelock = bind(w3, "TimelockController", addresses.timelock).functions
    guardian = str(governor.proposalGuardian().call(block_identifier=block))
    numerator, denominator = governor.supermajority().call(block_identifier=block)
    return Protection(
        guardian=None if int(guardian, 16) == 0 else to_address(guardian),
        supermajority=Fraction(numerator, denominator),
        voting_period=int(governor.votingPeriod().call(block_identifier=block)),
        loosening_voting_period=int(governor.looseningVotingPeriod().call(block_identifier=block)),
        timelock_delay=int(timelock.getMinDelay().call(block_identifier=block)),
    )
