"""The relayer against anvil: exactly once, whatever happens to the node or the process."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from core.settings import DEV_PRIVATE_KEYS
from governance.actions import SetMitigation
from governance.chain import deploy
from governance.chain.localchain import free_port
from governance.chain.rpc import RpcBatch, RpcReply
from governance.chain.view import RpcChainView
from governance.errors import ChainUnreachable
from governance.intake.service import governor_domain, submit_ballot, submit_raw_proposal
from governance.messages.proposals import prepare_proposal
from governance.relay.calls import GAS_BUMP
from governance.relay.outbox import RelayAttempt, RelayItem, RelayStatus
from tests.helpers import HOLDER_KEYS, TEST_CONFIG, Governance, address_of
from tests.integration.governance.relay_support import RELAYER_KEY, open_proposal, relayer_for
from tests.voters import make_voters, signed_ballot

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


def _queue_ballots(
    engine: Engine,
    gov: Governance,
    deployment: deploy.Deployment,
    keys: list[str],
    proposal_id: int,
) -> None:
    view = RpcChainView.for_deployment(gov.w3, deployment)
    domain = governor_domain(deployment)
    with Session(engine) as session:
        for key in keys:
            submit_ballot(
                session, signed_ballot(domain, key, proposal_id), deployment=deployment, chain=view
            )


def _moved(engine: Engine) -> int:
    with Session(engine) as session:
        return len(
            session.exec(select(RelayItem.id).where(RelayItem.status != RelayStatus.QUEUED)).all()
        )


def _items(engine: Engine) -> list[RelayItem]:
    with Session(engine) as session:
        return list(session.exec(select(RelayItem)).all())


def test_a_stuck_transaction_is_replaced_with_higher_fees_and_lands_once(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    _queue_ballots(engine, gov, deployment, [HOLDER_KEYS[0]], proposal_id)
    relayer = relayer_for(
        engine, gov.w3, deployment, stuck_after=__import__("datetime").timedelta(0)
    )
    gov.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        assert relayer.tick().submitted == 1
        assert relayer.tick().bumped == 1
    finally:
        gov.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    gov.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    relayer.run_until_idle()
    (item,) = _items(engine)
    assert item.status == RelayStatus.CONFIRMED
    with Session(engine) as session:
        attempts = session.exec(select(RelayAttempt).order_by(RelayAttempt.id)).all()  # type: ignore[arg-type]
    assert len(attempts) == 2
    assert attempts[0].nonce == attempts[1].nonce
    assert attempts[1].max_priority_fee_per_gas >= attempts[0].max_priority_fee_per_gas * 1.1
    assert attempts[1].max_fee_per_gas >= attempts[0].max_fee_per_gas * 1.1
    assert GAS_BUMP >= 1.1
    assert item.tx_hash == attempts[1].tx_hash  # the replacement is the one mined
    assert gov.governor.functions.hasVoted(proposal_id, address_of(HOLDER_KEYS[0])).call()


def test_a_nonce_used_elsewhere_is_reconciled(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    relayer = relayer_for(engine, gov.w3, deployment)
    relayer.reconcile_nonce()
    # Someone else spends the relayer key's next nonce behind our back.
    gov.send(RELAYER_KEY, gov.token, "delegate", address_of(RELAYER_KEY))
    _queue_ballots(engine, gov, deployment, list(HOLDER_KEYS[:2]), proposal_id)
    relayer.run_until_idle()
    assert {i.status for i in _items(engine)} == {RelayStatus.CONFIRMED}
    for key in HOLDER_KEYS[:2]:
        assert gov.governor.functions.hasVoted(proposal_id, address_of(key)).call()


def test_a_ballot_that_would_revert_is_failed_without_spending_gas(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    _queue_ballots(engine, gov, deployment, [HOLDER_KEYS[1]], proposal_id)
    gov.send(HOLDER_KEYS[1], gov.governor, "castVote", proposal_id, 0)  # votes directly first
    before = gov.w3.eth.get_transaction_count(address_of(RELAYER_KEY))
    report = relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert report.failed == 1
    (item,) = _items(engine)
    assert item.status == RelayStatus.FAILED
    assert item.error_code == "already_voted"
    assert item.error is not None
    assert item.error.startswith("GovernorAlreadyCastVote(")
    assert gov.w3.eth.get_transaction_count(address_of(RELAYER_KEY)) == before


def test_an_unreachable_node_keeps_everything_queued(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    _queue_ballots(engine, gov, deployment, [HOLDER_KEYS[2]], proposal_id)
    dead = relayer_for(engine, gov.w3, deployment)
    dead.rpc.url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnreachable):
        dead.tick()
    assert [i.status for i in _items(engine)] == [RelayStatus.QUEUED]
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert [i.status for i in _items(engine)] == [RelayStatus.CONFIRMED]


@pytest.mark.slow
def test_a_relayer_killed_at_a_random_moment_loses_nothing_and_sends_nothing_twice(
    engine: Engine, isolated_chain: Web3, tmp_path: Path
):
    # 200 votes mine 200 blocks: a governor whose vote lasts long enough.
    config = TEST_CONFIG.model_copy(update={"voting_period": 5_000})
    deployment = deploy.deploy(isolated_chain, DEV_PRIVATE_KEYS[0], config)
    gov = Governance(isolated_chain, deployment)
    voters = make_voters(gov.w3, deployment, 200)
    proposal_id = open_proposal(gov)
    _queue_ballots(engine, gov, deployment, voters, proposal_id)
    deployment_file = tmp_path / "deployment.json"
    deploy.save(deployment, deployment_file)
    url = engine.url.render_as_string(hide_password=False)
    rpc_url = gov.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    command = [
        sys.executable,
        str(Path(__file__).parents[1] / "relay_worker.py"),
        url,
        rpc_url,
        str(deployment_file),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    seed = int(os.environ.get("FAIRGOV_TEST_SEED", time.time_ns()))
    rng = random.Random(seed)
    kills = 0
    for target in sorted(rng.sample(range(5, 190), 3)):
        # Kill while the outbox is being worked: once `target` items have left the queue.
        worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        while worker.poll() is None and _moved(engine) < target:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.wait()
    assert kills >= 1, f"no worker was killed mid-relay (seed {seed})"
    final = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert final.returncode == 0, final.stderr
    items = _items(engine)
    assert len(items) == 200
    problems = {(i.status, i.error_code, i.error) for i in items} - {
        (RelayStatus.CONFIRMED, None, None)
    }
    assert problems == set()
    votes = gov.governor.events.VoteCast().get_logs(from_block=0)
    voters_on_chain = [log["args"]["voter"] for log in votes]
    assert sorted(voters_on_chain) == sorted(address_of(k) for k in voters)
    # Exactly one mined transaction per ballot: the relayer's account sent no others.
    relayer = address_of(RELAYER_KEY)
    blocks = {i.block_number for i in items}
    sent = sum(
        1
        for number in blocks
        for tx in gov.w3.eth.get_block(number, full_transactions=True)["transactions"]
        if tx["from"] == relayer  # type: ignore[index]
    )
    assert sent == 200


def test_a_transaction_the_node_keeps_refusing_fails_with_a_code(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    _queue_ballots(engine, gov, deployment, [HOLDER_KEYS[0]], proposal_id)
    relayer_address = address_of(RELAYER_KEY)
    gov.w3.provider.make_request("anvil_setBalance", [relayer_address, "0x0"])  # type: ignore[arg-type]
    relayer = relayer_for(engine, gov.w3, deployment, max_send_errors=3, backoff_base=timedelta(0))
    reports = [relayer.tick() for _ in range(6)]
    (item,) = _items(engine)
    assert item.status == RelayStatus.FAILED
    assert item.error_code == "relay_rejected"
    assert item.error is not None
    assert "insufficient funds" in item.error.lower()
    assert sum(r.failed for r in reports) == 1
    assert reports[-1].errors == []  # given up: no more sends


def test_fee_bumps_stop_at_max_bumps(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    _queue_ballots(engine, gov, deployment, [HOLDER_KEYS[3]], proposal_id)
    relayer = relayer_for(engine, gov.w3, deployment, stuck_after=timedelta(0), max_bumps=2)
    gov.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        bumps = [relayer.tick().bumped for _ in range(5)]
    finally:
        gov.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert bumps == [0, 1, 1, 0, 0]
    gov.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    relayer.run_until_idle()
    (item,) = _items(engine)
    assert item.status == RelayStatus.CONFIRMED
    with Session(engine) as session:
        assert len(session.exec(select(RelayAttempt)).all()) == 3


class _MinesAfterReceipts(RpcBatch):
    """The real node, which mines its pool right after answering the first receipt batch:
    the moment a block lands between a pass's reads."""

    mined = False

    def call(self, calls: list[tuple[str, list[Any]]]) -> list[RpcReply]:
        replies = super().call(calls)
        if not self.mined and any(m == "eth_getTransactionReceipt" for m, _ in calls):
            self.mined = True
            super().call([("evm_mine", [])])
        return replies


def test_a_proposal_mined_between_the_reads_of_a_pass_is_confirmed_not_failed(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    # Regression (CI, session 16): the proposer's nonce was read after the receipts, so a
    # transaction mined in between was failed as `nonce_used` although it was mined.
    gov.delegate_all_to_self()
    key = HOLDER_KEYS[2]
    prepared = prepare_proposal(
        gov.w3,
        deployment,
        proposer=address_of(key),
        actions=[SetMitigation(strategy="threshold_optimizer", constraint="demographic_parity")],
        description="Mined between two reads",
    )
    raw = bytes(Account.sign_transaction(prepared.transaction, key).raw_transaction)
    with Session(engine) as session:
        submit_raw_proposal(session, raw, w3=gov.w3, deployment=deployment)
    relayer = relayer_for(engine, gov.w3, deployment)
    gov.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        assert relayer.tick().submitted == 1  # in the pool, not mined
        relayer.rpc = _MinesAfterReceipts(relayer.rpc.url)
        assert relayer.tick().failed == 0
    finally:
        gov.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert relayer.rpc.mined
    relayer.run_until_idle()
    (item,) = _items(engine)
    assert (item.status, item.error_code) == (RelayStatus.CONFIRMED, None)
    assert gov.governor.functions.proposalSnapshot(prepared.proposal_id).call() > 0


def test_a_ballot_signed_with_recovery_id_0_or_1_lands(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    """Review (session 23): a signature whose last byte is the recovery id 0 or 1 (as some
    hardware wallets give it) was accepted, relayed as given, and reverted
    GovernorInvalidSignature; the voter's later ballots failed after it."""
    proposal_id = open_proposal(gov)
    domain = governor_domain(deployment)
    view = RpcChainView.for_deployment(gov.w3, deployment)
    with Session(engine) as session:
        for key in HOLDER_KEYS[:2]:
            ballot = signed_ballot(domain, key, proposal_id)
            v = int(ballot.signature[-2:], 16)
            raw = ballot.model_dump() | {"signature": ballot.signature[:-2] + f"{v - 27:02x}"}
            submit_ballot(
                session, type(ballot).model_validate(raw), deployment=deployment, chain=view
            )
    report = relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert report.failed == 0
    assert {item.status for item in _items(engine)} == {RelayStatus.CONFIRMED}
    for key in HOLDER_KEYS[:2]:
        assert gov.governor.functions.hasVoted(proposal_id, address_of(key)).call()
