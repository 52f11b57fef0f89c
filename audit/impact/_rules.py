"""What the chain says about a draft or a proposal: its classification, the majority it
needs and how long the guardian may cancel it. Read from the governor, never re-derived."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from web3 import Web3

from core.types import Address
from governance.chain.contracts import bind
from governance.chain.deploy import Addresses
from governance.index.models import Proposal
from governance.protection import (
    Classification,
    classify,
    majority_needed,
    read_protection,
)

#: States in which the guardian may still cancel a loosening proposal (before execution).
CANCELLABLE_STATES = ("Pending", "Active", "Succeeded", "Queued")


@dataclass(frozen=True)
class VetoWindow:
    """How long the guardian may cancel: until execution, which comes no earlier than the
    vote's end plus the timelock delay after queueing.

    ``vote_ends_block`` is the last voting block (for a draft, if it is proposed in the next
    block); ``executable_at`` is the ETA in unix seconds once the proposal is queued.
    """

    guardian: Address | None
    guardian_may_cancel: bool
    vote_ends_block: int
    timelock_delay: int
    executable_at: int | None


@dataclass(frozen=True)
class ChainRules:
    """The classification, the share of FOR votes needed and the veto window."""

    classification: Classification
    loosening_when_proposed: bool | None
    majority_needed: Fraction
    veto: VetoWindow

    @property
    def loosening(self) -> bool:
        """Loosening when proposed or now: either way it needs the supermajority to execute."""
        return self.classification.loosening or bool(self.loosening_when_proposed)


def draft_rules(
    w3: Web3, addresses: Addresses, targets: Sequence[str], calldatas: Sequence[bytes]
) -> ChainRules:
    """The rules a draft would be proposed under, if it were proposed in the next block."""
    classification = classify(w3, addresses, targets, calldatas)
    protection = read_protection(w3, addresses)
    delay = int(bind(w3, "FairnessGovernor", addresses.governor).functions.votingDelay().call())
    loosening = classification.loosening
    vote_end = w3.eth.block_number + 1 + delay + protection.voting_period_for(loosening)
    veto = VetoWindow(
        guardian=protection.guardian,
        guardian_may_cancel=loosening and protection.guardian is not None,
        vote_ends_block=vote_end,
        timelock_delay=protection.timelock_delay,
        executable_at=None,
    )
    return ChainRules(
        classification, None, majority_needed(loosening, protection.supermajority), veto
    )


def proposal_rules(w3: Web3, addresses: Addresses, proposal: Proposal) -> ChainRules:
    """The rules an indexed proposal is under: as classified when made, and as it would be
    classified now (a proposal that became loosening cannot execute on a simple majority)."""
    calls = proposal.calls_dict()
    calldatas = [bytes.fromhex(c[2:]) for c in calls["calldatas"]]
    classification = classify(w3, addresses, calls["targets"], calldatas)
    protection = read_protection(w3, addresses)
    governor = bind(w3, "FairnessGovernor", addresses.governor)
    recorded, numerator, denominator, _ = governor.functions.proposalClassification(
        int(proposal.proposal_id)
    ).call()
    supermajority = Fraction(numerator, denominator) if denominator else protection.supermajority
    loosening = bool(recorded) or classification.loosening
    veto = VetoWindow(
        guardian=protection.guardian,
        guardian_may_cancel=loosening
        and protection.guardian is not None
        and proposal.state in CANCELLABLE_STATES,
        vote_ends_block=proposal.deadline,
        timelock_delay=protection.timelock_delay,
        executable_at=proposal.eta,
    )
    return ChainRules(
        classification, bool(recorded), majority_needed(loosening, supermajority), veto
    )


def describe_rules(rules: ChainRules) -> str:
    """One line for voters: loosening or not (and why), the majority, the guardian's veto.

    Examples
    --------
    >>> describe_rules(preview.rules)  # doctest: +SKIP
    'loosening (threshold_weakened): needs at least 2/3 of the FOR and AGAINST votes; the
    guardian 0x… may cancel it until it executes'
    """
    why = ", ".join(c.label for c in rules.classification.changes if c.label != "none")
    share = rules.majority_needed
    if rules.loosening:
        head = f"loosening ({why})" if why else "loosening"
        needs = f"needs at least {share.numerator}/{share.denominator} of the FOR and AGAINST votes"
    else:
        head = "not loosening"
        needs = "needs more than half of the FOR and AGAINST votes"
    veto = rules.veto
    if veto.guardian is None:
        cancel = "no guardian is set, so nobody can cancel it"
    elif veto.guardian_may_cancel:
        cancel = f"the guardian {veto.guardian} may cancel it until it executes"
    elif rules.loosening:
        cancel = "it can no longer be cancelled"
    else:
        cancel = "the guardian cannot cancel it"
    return f"{head}: {needs}; {cancel}"


def describe_veto_deadline(veto: VetoWindow) -> str:
    """When the vote ends and the earliest execution (the guardian's veto lasts until then).

    Examples
    --------
    >>> describe_veto_deadline(preview.rules.veto)  # doctest: +SKIP
    'the vote ends at block 160; it may execute 60 s after it is queued'
    """
    if veto.executable_at is not None:
        return (
            f"the vote ended at block {veto.vote_ends_block}; it may execute from unix time "
            f"{veto.executable_at}"
        )
    return (
        f"the vote ends at block {veto.vote_ends_block}; it may execute "
        f"{veto.timelock_delay} s after it is queued"
    )
