"""The whole rewards path on a real anvil: post once, the window, gasless claims relayed once,
every bad claim refused before any gas (a deadline the relayer cannot meet too), and a root
the guardian cancels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.rewards.claims import RewardStatus, provider_rewards, verified_statement
from audit.rewards.service import stored_statement
from core.db import session_scope
from core.errors import FairgovError
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.chain.rpc import RpcBatch
from governance.errors import (
    ChallengeWindowOpen,
    InvalidRewardProof,
    RewardAlreadyClaimed,
    RewardEpochCancelled,
    RewardPostConflict,
    RewardRunNotApproved,
    SignerMismatch,
    StatementHashMismatch,
    StatementNotHeld,
    StatementNotTheEpochs,
)
from governance.relay.outbox import RelayStatus
from governance.rewards import accept_claim, post_root, read_epoch, reward_root, verify_statement
from tests.helpers import TEST_CONFIG, address_of, advance_time
from tests.integration.audit.audit_support import AUDITOR_KEY
from tests.integration.governance.relay_support import relayer_for
from tests.integration.governance.rewards.rewards_support import (
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    GUARDIAN_KEY,
    TOKEN,
    approve,
    fund,
    post,
    rows_statement,
    sign_claim,
)


def _rpc(w3: Web3) -> RpcBatch:
    return RpcBatch(w3.provider.endpoint_uri)  # type: ignore[attr-defined]


def test_a_root_is_posted_once_and_claimed_gaslessly_once(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3, rewards = isolated_chain, deployment.addresses.rewards
    contract = bind(w3, "ProviderRewards", rewards).functions
    token = bind(w3, "GovernanceToken", deployment.addresses.token).functions
    fund(w3, deployment)
    statement = rows_statement(deployment)

    epoch = post(engine, w3, deployment, tmp_path, statement)
    count = contract.epochCount().call()
    # Posting again (a retry after a crash) reads the epoch back and sends nothing.
    assert post(engine, w3, deployment, tmp_path, statement) == epoch
    assert contract.epochCount().call() == count
    on_chain = read_epoch(w3, rewards, epoch)
    assert on_chain.statement_hash == statement.hash
    assert on_chain.root == statement.root
    assert on_chain.total == 1_000 * TOKEN
    # The same run with another statement is a conflict, never a second epoch.
    other = statement.model_copy(update={"root": "0x" + "ee" * 32})
    with pytest.raises(RewardPostConflict):
        post_root(w3, rewards, AUDITOR_KEY, other)

    good = sign_claim(deployment, statement, epoch, key=ALICE_KEY, account=ALICE)
    with Session(engine) as session:
        with pytest.raises(ChallengeWindowOpen):
            accept_claim(session, w3, _rpc(w3), good, rewards=rewards)
        assert provider_rewards(session, w3, rewards, ALICE)[0].status == "pending_window"

    advance_time(w3, TEST_CONFIG.rewards_challenge_window + 1)
    relayer_before = w3.eth.get_transaction_count(
        relayer_for(engine, w3, deployment).account.address
    )
    with Session(engine) as session:
        # Bob signs a claim of Alice's reward: refused, whoever would be paid.
        forged = sign_claim(deployment, statement, epoch, key=BOB_KEY, account=ALICE)
        with pytest.raises(SignerMismatch):
            accept_claim(session, w3, _rpc(w3), forged, rewards=rewards)
        greedy = sign_claim(
            deployment, statement, epoch, key=ALICE_KEY, account=ALICE, amount=800 * TOKEN
        )
        with pytest.raises(InvalidRewardProof):
            accept_claim(session, w3, _rpc(w3), greedy, rewards=rewards)
        item = accept_claim(session, w3, _rpc(w3), good, rewards=rewards)
        assert item.status == RelayStatus.QUEUED
        with pytest.raises(RewardAlreadyClaimed):
            accept_claim(session, w3, _rpc(w3), good, rewards=rewards)
    relayer = relayer_for(engine, w3, deployment)
    # Nothing refused above reached the chain: the relayer has sent nothing yet.
    assert w3.eth.get_transaction_count(relayer.account.address) == relayer_before

    alice_eth = w3.eth.get_balance(ALICE)
    alice_tokens = token.balanceOf(ALICE).call()
    report = relayer.run_until_idle()
    assert (report.confirmed, report.failed) == (1, 0)
    assert token.balanceOf(ALICE).call() == alice_tokens + 700 * TOKEN
    assert w3.eth.get_balance(ALICE) == alice_eth  # the relayer paid the gas
    assert contract.claimed(epoch, ALICE).call()

    with Session(engine) as session:
        with pytest.raises(RewardAlreadyClaimed):
            accept_claim(session, w3, _rpc(w3), good, rewards=rewards)
        assert provider_rewards(session, w3, rewards, ALICE)[0].status == RewardStatus.CLAIMED
        assert provider_rewards(session, w3, rewards, BOB)[0].status == RewardStatus.CLAIMABLE
        assert verified_statement(session, w3, rewards, epoch) == statement


def test_a_stored_statement_that_is_not_the_anchored_one_is_refused(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3, rewards = isolated_chain, deployment.addresses.rewards
    fund(w3, deployment)
    statement = rows_statement(deployment)
    epoch = post(engine, w3, deployment, tmp_path, statement)
    with session_scope(engine) as session:
        row = stored_statement(session, rewards, statement.context.run_id)
        assert row is not None
        row.statement_json = row.statement_json.replace('"loans-lr"', '"loans-lr2"')
        session.add(row)
    with Session(engine) as session, pytest.raises(StatementHashMismatch) as info:
        verified_statement(session, w3, rewards, epoch)
    assert info.value.details["anchored"] == statement.hash


def test_a_root_the_guardian_cancels_pays_nothing(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3, rewards = isolated_chain, deployment.addresses.rewards
    fund(w3, deployment)
    statement = rows_statement(deployment)
    epoch = post(engine, w3, deployment, tmp_path, statement)
    contract = bind(w3, "ProviderRewards", rewards)
    available = contract.functions.available().call()
    guardian = w3.eth.account.from_key(GUARDIAN_KEY)
    tx = contract.functions.cancelRoot(epoch).build_transaction(
        {"from": guardian.address, "nonce": w3.eth.get_transaction_count(guardian.address)}
    )
    signed = guardian.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1
    assert contract.functions.available().call() == available + statement.total

    advance_time(w3, TEST_CONFIG.rewards_challenge_window + 1)
    claim = sign_claim(deployment, statement, epoch, key=BOB_KEY, account=BOB)
    with Session(engine) as session:
        with pytest.raises(RewardEpochCancelled):
            accept_claim(session, w3, _rpc(w3), claim, rewards=rewards)
        assert provider_rewards(session, w3, rewards, BOB)[0].status == RewardStatus.CANCELLED


def test_a_claim_whose_deadline_is_the_latest_block_costs_the_relayer_nothing(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """``check_claim`` refuses ``deadline < now`` (the latest block's time) and the
    simulation runs against the latest block, but the relayer's transaction lands in a later
    block, where ``block.timestamp > deadline`` reverts ``RewardsClaimExpired``. A provider
    can repeat it (a failed item's key is queued again once a new call simulates), each time
    at the relayer's expense."""
    w3, rewards = isolated_chain, deployment.addresses.rewards
    fund(w3, deployment)
    statement = rows_statement(deployment)
    epoch = post(engine, w3, deployment, tmp_path, statement)
    advance_time(w3, TEST_CONFIG.rewards_challenge_window + 1)
    now = int(w3.eth.get_block("latest")["timestamp"])
    claim = sign_claim(deployment, statement, epoch, key=ALICE_KEY, account=ALICE, deadline=now)
    relayer = relayer_for(engine, w3, deployment)
    sent_before = w3.eth.get_transaction_count(relayer.account.address)
    spent_before = w3.eth.get_balance(relayer.account.address)

    accepted = True
    try:
        with session_scope(engine) as session:
            accept_claim(
                session,
                w3,
                RpcBatch(w3.provider.endpoint_uri),  # type: ignore[attr-defined]
                claim,
                rewards=rewards,
            )
    except FairgovError:  # refused before any gas: the secure outcome
        accepted = False
    # The relayer's transaction is mined a block time after the latest block, as on any
    # chain with 12-second blocks (anvil mines it at once otherwise).
    w3.provider.make_request("evm_setNextBlockTimestamp", [now + 12])  # type: ignore[arg-type]
    relayer.run_until_idle()

    paid = bind(w3, "ProviderRewards", rewards).functions.claimed(epoch, ALICE).call()
    sent = w3.eth.get_transaction_count(relayer.account.address) - sent_before
    assert paid or sent == 0, (
        f"accepted={accepted}: the relayer sent {sent} transaction(s) that paid nothing, "
        f"{spent_before - w3.eth.get_balance(relayer.account.address)} wei of gas"
    )


def test_a_poster_key_takes_at_most_one_epochs_reward(
    isolated_chain: Web3, deployment: deploy.Deployment
):
    """Regression (review of #15): ``postRoot`` took any fresh run id, so a stolen or buggy
    poster key opened three epochs for made-up runs and reserved 2,400 of 2,500 tokens. Only a
    run the AuditRegistry holds as passed is posted now, and only once."""
    w3, rewards = isolated_chain, deployment.addresses.rewards
    contract = bind(w3, "ProviderRewards", rewards).functions
    fund(w3, deployment, tokens=2_500)
    for _ in range(3):  # made-up run ids, none anchored in the AuditRegistry
        made_up = rows_statement(deployment, reward=800 * TOKEN)
        with pytest.raises(RewardRunNotApproved):
            post_root(w3, rewards, AUDITOR_KEY, made_up)
    assert (contract.epochCount().call(), contract.reserved().call()) == (0, 0)

    approved = rows_statement(deployment, reward=800 * TOKEN)
    approve(w3, deployment, approved)
    assert post_root(w3, rewards, AUDITOR_KEY, approved).epoch.number == 1
    assert contract.reserved().call() == 800 * TOKEN


def _send(w3: Web3, key: str, call: Any) -> None:
    sender = w3.eth.account.from_key(key)
    tx = call.build_transaction(
        {"from": sender.address, "nonce": w3.eth.get_transaction_count(sender.address)}
    )
    raw = sender.sign_transaction(tx).raw_transaction
    assert w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))["status"] == 1


def test_an_honest_statements_hash_beside_another_root_is_not_verified(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Review (session 23): after the guardian cancelled an epoch, the poster key posted the
    run again with the honest statement's hash beside a root paying another account; ``fairgov
    rewards verify`` checked the hash alone and said "verified" while the epoch paid out."""
    w3, rewards = isolated_chain, deployment.addresses.rewards
    contract = bind(w3, "ProviderRewards", rewards)
    fund(w3, deployment)
    statement = rows_statement(deployment)
    honest = post(engine, w3, deployment, tmp_path, statement)
    _send(w3, GUARDIAN_KEY, contract.functions.cancelRoot(honest))
    rogue_root = reward_root([(address_of(GUARDIAN_KEY), statement.total)])
    args = [statement.context.run_id, rogue_root, statement.hash, statement.total]
    _send(
        w3,
        AUDITOR_KEY,
        contract.functions.postRoot(*(bytes.fromhex(a[2:]) for a in args[:3]), args[3]),
    )
    rogue = contract.functions.epochCount().call()
    assert rogue == honest + 1

    state = read_epoch(w3, rewards, rogue)
    with pytest.raises(StatementNotTheEpochs) as info:
        verify_statement(statement, state, chain_id=w3.eth.chain_id, rewards=rewards)
    assert info.value.details["field"] == "root"
    with Session(engine) as session, pytest.raises(StatementNotHeld):
        verified_statement(session, w3, rewards, rogue)  # fairgov never posted this epoch
