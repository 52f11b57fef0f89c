"""The keeper against a real anvil: queues passed proposals, executes them when due, and
gives up on a call that keeps reverting on chain until the chain changes."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3
from web3.logs import DISCARD

from core.settings import DEV_PRIVATE_KEYS
from governance.actions import AllowDataset, DatasetOffer, encode
from governance.chain import deploy
from governance.index.indexer import Indexer
from governance.keeper import Keeper, RetryPolicy
from governance.messages.kinds import RelayKind
from governance.relay.keeper_calls import reverted_calls
from governance.relay.outbox import RelayItem, RelayStatus
from tests.helpers import (
    EXECUTED,
    HOLDER_KEYS,
    OFFER_LIFETIME,
    QUEUED,
    SUCCEEDED,
    TEST_CONFIG,
    Governance,
    address_of,
    advance_time,
    issue_time,
    mine,
)
from tests.integration.governance.contract_wallets import UNPRICED_ONLY, place_wallet

pytestmark = pytest.mark.chain

KEEPER_KEY = DEV_PRIVATE_KEYS[0]
UPPER = 0


def passed_proposal(
    gov: Governance, description: str, calls: tuple[list[str], list[int], list[bytes]] | None = None
) -> tuple[int, Any]:
    """A proposal that has just succeeded: (id, (targets, values, calldatas)); by default it
    sets a threshold on the metric named ``description``."""
    gov.delegate_all_to_self()
    if calls is None:
        metric = description.encode().ljust(32, b"\0")
        data = gov.policy.encode_abi("setThreshold", args=[metric, 50_000, UPPER])
        calls = ([gov.policy.address], [0], [bytes.fromhex(data[2:])])
    receipt = gov.send(HOLDER_KEYS[0], gov.governor, "propose", *calls, description)
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    proposal_id: int = created["args"]["proposalId"]
    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    for key in HOLDER_KEYS:
        gov.send(key, gov.governor, "castVote", proposal_id, 1)
    deadline = gov.governor.functions.proposalDeadline(proposal_id).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    assert gov.governor.functions.state(proposal_id).call() == SUCCEEDED
    return proposal_id, calls


def wallet_offer_proposal(gov: Governance, description: str) -> int:
    """A passed proposal allowing a dataset offered by a wallet that accepts a signature only
    at a gas price of 0 (review: GriefWallet.sol): its execute passes any simulation without
    fees and reverts on chain."""
    wallet = place_wallet(gov.w3, UNPRICED_ONLY)
    now = issue_time(gov.w3)
    offer = DatasetOffer(
        dataset_id="0x" + secrets.token_hex(32),
        content_hash="0x" + secrets.token_hex(32),
        manifest_hash="0x" + "0b" * 32,
        records_root="0x" + "0c" * 32,
        uri="file:///x.csv",
        provider=wallet,
        issued_at=now,
        deadline=now + OFFER_LIFETIME,
    )
    action = AllowDataset(offer=offer, provider_signature="0x" + "22" * 65)
    calls = encode([action], gov.deployment.addresses)
    proposal_id, _ = passed_proposal(gov, description, calls)
    return proposal_id


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


def test_an_execute_that_reverts_only_when_it_pays_gas_is_never_sent(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    proposal_id = wallet_offer_proposal(gov, "allow a wallet's dataset")
    Indexer(engine, gov.w3, deployment).sync()
    keeper = Keeper(gov.w3, deployment, KEEPER_KEY, engine=engine)
    assert keeper.run_once().queued == [str(proposal_id)]
    advance_time(gov.w3, TEST_CONFIG.timelock_delay + 1)
    sent = gov.w3.eth.get_transaction_count(address_of(KEEPER_KEY))

    report = keeper.run_once()  # estimated with the fees it would pay: it would revert
    assert report.executed == []
    assert report.skipped[str(proposal_id)].startswith(
        "would revert: TrainingPolicyInvalidOfferSignature("
    )
    assert gov.w3.eth.get_transaction_count(address_of(KEEPER_KEY)) == sent
    assert gov.governor.functions.state(proposal_id).call() == QUEUED


def test_an_execute_that_reverts_on_chain_is_held_back_until_its_targets_change(
    gov: Governance, deployment: deploy.Deployment, engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    proposal_id = wallet_offer_proposal(gov, "allow a wallet's dataset, again")
    Indexer(engine, gov.w3, deployment).sync()
    retry = RetryPolicy(first_delay=timedelta(0), max_reverts=2)

    def keeper() -> Keeper:  # the scheduler builds a keeper for each run
        return Keeper(gov.w3, deployment, KEEPER_KEY, engine=engine, retry=retry)

    assert keeper().run_once().queued == [str(proposal_id)]
    advance_time(gov.w3, TEST_CONFIG.timelock_delay + 1)
    # A simulation is never exact: here the node's estimate says yes whatever happens.
    monkeypatch.setattr(gov.w3.eth, "estimate_gas", lambda *_, **__: 1_000_000)
    sent = gov.w3.eth.get_transaction_count(address_of(KEEPER_KEY))

    for reverts in (1, 2):
        report = keeper().run_once()
        assert report.executed == []
        assert f"revert {reverts} of at most 2" in report.reverted[str(proposal_id)]
    held = keeper().run_once()
    assert held.reverted == {}
    assert "execute reverted on chain 2 times" in held.held_back[str(proposal_id)]
    assert "held back: proposal" in held.message
    assert gov.w3.eth.get_transaction_count(address_of(KEEPER_KEY)) == sent + 2

    with Session(engine) as session:
        (record,) = session.exec(select(RelayItem)).all()
    assert (record.kind, record.status, record.attempts) == (
        RelayKind.KEEPER_CALL,
        RelayStatus.FAILED,
        2,
    )
    assert record.error_code == "offer_signature_invalid"
    with Session(engine) as session:
        (shown,) = reverted_calls(session, proposal_id)
    assert shown.relay_id == record.id
    assert (shown.call.step, shown.call.reverts, shown.call.held_back) == ("execute", 2, True)

    # Anything that changes a target's storage (here a withdrawal of some id) earns one try.
    gov.send(HOLDER_KEYS[3], gov.policy, "withdrawDataset", secrets.token_bytes(32))
    assert str(proposal_id) in keeper().run_once().reverted
    assert str(proposal_id) in keeper().run_once().held_back
    assert gov.w3.eth.get_transaction_count(address_of(KEEPER_KEY)) == sent + 3
    assert gov.governor.functions.state(proposal_id).call() == QUEUED


def test_a_reverted_call_waits_longer_after_each_revert():
    retry = RetryPolicy(first_delay=timedelta(minutes=1), longest_delay=timedelta(hours=1))
    waits = [retry.delay(n) for n in (1, 2, 3, 7, 30)]
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 60, 60)]
