"""The rewards service over a real audit anchor and a dataset its provider offered on chain:
an approved run's root is posted once, a crash after the post is finished from the chain, an
unfunded contract refuses the post before any gas, one model file is paid once however often
it is retrained, a model whose data was withdrawn is not paid, a root a reorg dropped is posted
again, and a stored statement a vote made stale is rebuilt."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.rewards.claims import verified_statement
from audit.rewards.db_models import StatementStatus
from audit.rewards.due import candidate_runs
from audit.rewards.service import (
    build_for_run,
    post_due_rewards,
    store_statement,
    stored_statement,
)
from core.db import session_scope
from governance import actions as act
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.consent import withdraw_directly
from governance.rewards import SplitRule, post_root
from tests.helpers import TEST_CONFIG, Governance, pass_and_execute_encoded
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
        assert candidate_runs(session, rewards) == []
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


def test_a_post_a_crash_interrupted_is_recorded_though_the_data_was_withdrawn_since(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """The root is on chain (the provider can claim it); recording it pays nothing new, so a
    withdrawal after the post does not leave the row unrecorded."""
    w3, rewards = isolated_chain, deployment.addresses.rewards
    fund(w3, deployment)
    dataset_id = offer_dataset(w3, deployment, ALICE_KEY)
    run = approved_run(engine, w3, deployment, tmp_path, dataset_id)
    env = audit_env(engine, w3, deployment, tmp_path)
    with session_scope(engine) as session:
        statement = build_for_run(env, session, run)
        store_statement(session, statement)
    epoch = post_root(w3, rewards, AUDITOR_KEY, statement).epoch.number
    withdraw_directly(w3, deployment, ALICE_KEY, dataset_id)

    assert post_due_rewards(env).posted == [(run.run_id, epoch)]
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


def test_the_same_model_file_is_paid_once_however_often_it_is_retrained(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """The scheduler retrains every known model whenever the policy version changes
    (audit/service/due.py), and training is seeded, so an unrelated policy change yields a
    new approved run of the very same model file. Each run opens an epoch, so the treasury
    pays ``rewardPerEpoch`` again for a model it already paid for."""
    w3 = isolated_chain
    fund(w3, deployment)
    dataset_id = offer_dataset(w3, deployment, ALICE_KEY)
    first = approved_run(engine, w3, deployment, tmp_path, dataset_id)
    again = approved_run(engine, w3, deployment, tmp_path, dataset_id)
    assert (first.model_name, first.model_hash) == (again.model_name, again.model_hash)
    env = audit_env(engine, w3, deployment, tmp_path)

    outcome = post_due_rewards(env)

    rewards = bind(w3, "ProviderRewards", deployment.addresses.rewards)
    assert len(outcome.posted) == 1, f"one model file paid {len(outcome.posted)} times"
    assert rewards.functions.epochCount().call() == 1


def test_the_same_model_file_under_another_spec_name_is_not_paid_again(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Outside review (session 25): the same spec run under the names compas-lr, compas-x and
    compas-y trained one file (one model hash), and each run was paid an epoch once the gate
    approved it under its new name; an operator could drain the treasury by renaming."""
    w3 = isolated_chain
    fund(w3, deployment)
    dataset_id = offer_dataset(w3, deployment, ALICE_KEY)
    first = approved_run(engine, w3, deployment, tmp_path, dataset_id)
    env = audit_env(engine, w3, deployment, tmp_path)
    assert [r for r, _ in post_due_rewards(env).posted] == [first.run_id]

    renamed = approved_run(engine, w3, deployment, tmp_path, dataset_id, model_name="loans-x")
    assert first.model_hash == renamed.model_hash

    assert post_due_rewards(env).posted == []
    rewards = bind(w3, "ProviderRewards", deployment.addresses.rewards)
    assert rewards.functions.epochCount().call() == 1


def test_a_model_whose_provider_withdrew_the_data_earns_no_reward(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """The provider withdraws consent after the audit but before the rewards step runs: the
    gate blocks the model, yet ``due_runs`` asks only for PASS + anchor, so the blocked
    model's epoch is posted and paid (to the provider who withdrew)."""
    w3 = isolated_chain
    fund(w3, deployment)
    dataset_id = offer_dataset(w3, deployment, ALICE_KEY)
    approved_run(engine, w3, deployment, tmp_path, dataset_id)
    withdraw_directly(w3, deployment, ALICE_KEY, dataset_id)
    policy = bind(w3, "TrainingPolicy", deployment.addresses.training_policy)
    entry = policy.functions.getDataset(bytes.fromhex(dataset_id[2:])).call()
    assert (entry[4], entry[6]) == (ALICE, False)  # the provider's, and no longer allowed
    env = audit_env(engine, w3, deployment, tmp_path)

    outcome = post_due_rewards(env)

    assert outcome.posted == [], "a model trained on withdrawn data was rewarded"


def test_a_root_a_reorg_dropped_is_posted_again(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Chaos: the post is mined and recorded (``posted``, epoch 1), then the chain rolls
    back past it (the audit's anchor survives). ``due_runs`` skips every run whose row says
    ``posted`` without asking the chain, so the provider's reward is never posted again, and
    the row keeps an epoch number the next run's post will take on chain."""
    w3 = isolated_chain
    fund(w3, deployment)
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))
    env = audit_env(engine, w3, deployment, tmp_path)
    before_post = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    ((_, epoch),) = post_due_rewards(env).posted
    rewards = bind(w3, "ProviderRewards", deployment.addresses.rewards)
    assert rewards.functions.epochOfRun(bytes.fromhex(run.run_id[2:])).call() == epoch

    w3.provider.make_request("evm_revert", [before_post])  # type: ignore[arg-type]
    assert rewards.functions.epochOfRun(bytes.fromhex(run.run_id[2:])).call() == 0

    post_due_rewards(env)
    assert rewards.functions.epochOfRun(bytes.fromhex(run.run_id[2:])).call() != 0, (
        "the run's root was dropped by the reorg and never posted again"
    )


def test_a_statement_stored_before_a_crash_is_rebuilt_when_the_vote_changed_the_reward(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Chaos: the service stores the statement (1,000 tokens) and dies before posting. While
    it is down the DAO lowers ``rewardPerEpoch`` to 500. Every later pass reuses the stored
    bytes, ``postRoot`` refuses a total above the reward, and the run is
    ``reward_post_refused`` on every pass, forever: its providers are never paid."""
    w3 = isolated_chain
    fund(w3, deployment)
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))
    env = audit_env(engine, w3, deployment, tmp_path)
    with session_scope(engine) as session:
        store_statement(session, build_for_run(env, session, run))
    gov = Governance(w3, deployment)
    a = deployment.addresses
    pass_and_execute_encoded(gov, *act.encode([act.SetRewardPerEpoch(tokens=500)], a), "halve")

    first, second = post_due_rewards(env), post_due_rewards(env)

    assert first.failed == second.failed == [], f"stuck: {second.failed}"
    ((_, epoch),) = first.posted
    rewards = bind(w3, "ProviderRewards", a.rewards)
    assert rewards.functions.epoch(epoch).call()[3] == 500 * 10**18
