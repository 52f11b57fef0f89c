"""Proposals of typed actions on anvil, voted by a chosen share of the holders."""

from __future__ import annotations

from collections.abc import Sequence

from web3 import Web3
from web3.logs import DISCARD

from governance import actions
from tests.helpers import HOLDER_KEYS, TEST_CONFIG, Governance, mine

Calls = tuple[list[str], list[int], list[bytes]]

#: Holders 1 and 3 (400k + 200k of 1M tokens) for, holders 2 and 4 (300k + 100k) against:
#: 60%, a majority but not the default two-thirds supermajority.
SIXTY_FOR, FORTY_AGAINST = (HOLDER_KEYS[0], HOLDER_KEYS[2]), (HOLDER_KEYS[1], HOLDER_KEYS[3])


def propose(
    gov: Governance,
    proposed: Sequence[actions.Action],
    description: str,
    *,
    key: str = HOLDER_KEYS[0],
) -> tuple[int, Calls]:
    """Propose ``proposed``; returns the proposal id and its calls."""
    calls = actions.encode(list(proposed), gov.deployment.addresses)
    receipt = gov.send(key, gov.governor, "propose", *calls, description)
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    return int(created["args"]["proposalId"]), calls


def vote_and_close(
    gov: Governance,
    proposal_id: int,
    *,
    for_keys: Sequence[str] = HOLDER_KEYS,
    against_keys: Sequence[str] = (),
) -> None:
    """Open the vote, cast the votes and mine past the deadline."""
    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    for key in for_keys:
        gov.send(key, gov.governor, "castVote", proposal_id, 1)
    for key in against_keys:
        gov.send(key, gov.governor, "castVote", proposal_id, 0)
    deadline = gov.governor.functions.proposalDeadline(proposal_id).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)


def description_hash(description: str) -> bytes:
    return bytes(Web3.keccak(text=description))
