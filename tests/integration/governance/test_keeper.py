"""The keeper against a real anvil: queues passed proposals, executes them when due."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from web3 import Web3
from web3.logs import DISCARD

from core.settings import DEV_PRIVATE_KEYS
from governance.chain import deploy
from governance.index.indexer import Indexer
from governance.keeper import Keeper
from tests.helpers import (
    EXECUTED,
    HOLDER_KEYS,
    QUEUED,
    SUCCEEDED,
    TEST_CONFIG,
    Governance,
    advance_time,
    mine,
)

pytestmark = pytest.mark.chain

KEEPER_KEY = DEV_PRIVATE_KEYS[0]
UPPER = 0


def passed_proposal(gov: Governance, description: str) -> tuple[int, Any]:
    """A proposal that has just succeeded: (id, (targets, values, calldatas))."""
    gov.delegate_all_to_self()
    metric = description.encode().ljust(32, b"\0")
    targets = [gov.policy.address]
    datas = [gov.policy.encode_abi("setThreshold", args=[metric, 50_000, UPPER])]
    receipt = gov.send(HOLDER_KEYS[0], gov.governor, "propose", targets, [0], datas, description)
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    proposal_id: int = created["args"]["proposalId"]
    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    for key in HOLDER_KEYS:
        gov.send(key, gov.governor, "castVote", proposal_id, 1)
    deadline = gov.governor.functions.proposalDeadline(proposal_id).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    assert gov.governor.functions.state(proposal_id).call() == SUCCEEDED
    return proposal_id, (targets, [0], datas)


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


def test_the_keeper_queues_then_executes_from_the_index(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    proposal_id, _ = passed_proposal(gov, "accuracy_difference")
    Indexer(engine, gov.w3, deployment).sync()
    keeper = Keeper(gov.w3, deployment, KEEPER_KEY, engine=engine)

    report = keeper.run_once()
    assert report.queued == [str(proposal_id)]
    assert gov.governor.functions.state(proposal_id).call() == QUEUED
    head = gov.w3.eth.block_number
    again = keeper.run_once()
    assert (again.queued, again.executed, again.tx_hashes) == ([], [], [])
    assert gov.w3.eth.block_number == head  # no transaction was sent

    advance_time(gov.w3, TEST_CONFIG.timelock_delay + 1)
    report = keeper.run_once()
    assert report.executed == [str(proposal_id)]
    assert gov.governor.functions.state(proposal_id).call() == EXECUTED
    assert gov.policy.functions.policyVersion().call() == 1
    assert keeper.run_once().message == "nothing to do"


def test_the_keeper_finds_proposals_in_the_logs_and_skips_what_others_queued(
    gov: Governance, deployment: deploy.Deployment
):
    first, calls = passed_proposal(gov, "selection_rate_difference")
    description_hash = Web3.keccak(text="selection_rate_difference")
    gov.send(HOLDER_KEYS[1], gov.governor, "queue", *calls, description_hash)
    keeper = Keeper(gov.w3, deployment, KEEPER_KEY)

    report = keeper.run_once()
    assert report.queued == []
    assert "queued until" in report.skipped[str(first)]

    advance_time(gov.w3, TEST_CONFIG.timelock_delay + 1)
    assert keeper.run_once().executed == [str(first)]
    assert gov.governor.functions.state(first).call() == EXECUTED


def test_a_disabled_keeper_does_nothing(gov: Governance, deployment: deploy.Deployment):
    proposal_id, _ = passed_proposal(gov, "equalized_odds_difference")
    head = gov.w3.eth.block_number
    report = Keeper(gov.w3, deployment, KEEPER_KEY, enabled=False).run_once()
    assert not report.enabled
    assert report.message == "the keeper is switched off: nothing was queued or executed"
    assert gov.w3.eth.block_number == head
    assert gov.governor.functions.state(proposal_id).call() == SUCCEEDED
