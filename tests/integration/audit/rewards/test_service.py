"""The rewards service over a real audit anchor and a dataset its provider offered on chain:
an approved run's root is posted once, a crash after the post is finished from the chain, and
an unfunded contract refuses the post before any gas."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.rewards.claims import verified_statement
from audit.rewards.db_models import StatementStatus
from audit.rewards.service import (
    build_for_run,
    due_runs,
    post_due_rewards,
    store_statement,
    stored_statement,
)
from core.db import session_scope
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.rewards import SplitRule, post_root
from tests.helpers import TEST_CONFIG
from tests.integration.audit.audit_support import AUDITOR_KEY, audit_env
from tests.integration.audit.rewards.service_support import approved_run, offer_dataset
from tests.integration.governance.rewards.rewards_support import ALICE, ALICE_KEY, TOKEN, fund


def test_an_approved_run_is_posted_once_with_its_provider_paid(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3 = isolated_chain
    fund(w3, deployment)
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))
    env = audit_env(engine, w3, deployment, tmp_path)

    outcome = post_due_rewards(env)
    assert outcome.failed == []
    ((run_id, epoch),) = outcome.posted
    assert run_id == run.run_id
    assert post_due_rewards(env).posted == []  # nothing due any more

    rewards = deployment.addresses.rewards
    with Session(engine) as session:
        statement = verified_statement(session, w3, rewards, epoch)
        assert due_runs(session, rewards) == []
    assert statement.split_rule == SplitRule.ROWS
    assert statement.context.report_hash == run.report_hash
    assert [(c.provider, c.rows) for c in statement.contributions] == [(ALICE, 1_234)]
    assert statement.pairs() == [(ALICE, TEST_CONFIG.reward_per_epoch * TOKEN)]


def test_a_post_a_crash_interrupted_is_finished_from_the_chain(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3, rewards = isolated_chain, deployment.addresses.rewards
    fund(w3, deployment)
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))
    env = audit_env(engine, w3, deployment, tmp_path)
    # The service stored the statement and posted it, then died before recording the epoch.
    with session_scope(engine) as session:
        statement = build_for_run(env, session, run)
        store_statement(session, statement)
    epoch = post_root(w3, rewards, AUDITOR_KEY, statement).epoch.number
    count = bind(w3, "ProviderRewards", rewards).functions.epochCount().call()

    assert post_due_rewards(env).posted == [(run.run_id, epoch)]
    assert bind(w3, "ProviderRewards", rewards).functions.epochCount().call() == count
    with Session(engine) as session:
        row = stored_statement(session, rewards, run.run_id)
        assert row is not None
        assert (row.status, row.epoch) == (StatementStatus.POSTED, epoch)


def test_an_unfunded_contract_refuses_the_post_without_gas(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3, rewards = isolated_chain, deployment.addresses.rewards
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))
    env = audit_env(engine, w3, deployment, tmp_path)
    auditor = Account.from_key(AUDITOR_KEY).address
    sent = w3.eth.get_transaction_count(auditor)

    outcome = post_due_rewards(env)
    assert outcome.failed == [(run.run_id, "reward_post_refused")]
    assert w3.eth.get_transaction_count(auditor) == sent
    with Session(engine) as session:
        row = stored_statement(session, rewards, run.run_id)
        assert row is not None
        assert row.status == StatementStatus.BUILT
        assert row.error is not None
        assert "RewardsInsufficientFunds" in row.error

    fund(w3, deployment)  # once the DAO funds it, the next pass posts the stored statement
    assert [r for r, _ in post_due_rewards(env).posted] == [run.run_id]
