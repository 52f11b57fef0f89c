"""From a vote to a paid provider: the DAO allows a provider's offered dataset, funds the
rewards and votes the leave-one-out rule; the audit PASSes and is anchored; the service
posts the statement, valued by training; the provider claims without gas."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.rewards.claims import claim_inputs, verified_statement
from audit.rewards.service import post_due_rewards
from audit.service import run_audit
from audit.spec import ModelSpec
from governance import actions as act
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch
from governance.rewards import SplitRule, accept_claim, recompute
from tests.helpers import TEST_CONFIG, advance_time, signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)
from tests.integration.governance.relay_support import relayer_for
from tests.integration.governance.rewards.rewards_support import (
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    TOKEN,
    sign_claim,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]
SPEC = ModelSpec(name="loans-lr", dataset="loans", n_boot=50)


def test_an_approved_model_pays_its_provider(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
):
    w3, rewards = isolated_chain, deployment.addresses.rewards
    manifest = register_loans(engine, tmp_path)
    offer = signed_offer(w3, deployment, manifest, key=ALICE_KEY)
    actions = [
        offer,
        dp_threshold("0.1"),
        mitigate(),
        act.FundRewards(tokens=2_500),
        act.SetSplitRule(rule="leave_one_out"),
    ]
    govern(w3, deployment, actions, "allow loans, mitigate, fund the rewards, value by LOO")
    env = audit_env(engine, w3, deployment, tmp_path)
    run = run_audit(env, SPEC)
    assert run.verdict == "PASS"

    outcome = post_due_rewards(env)
    assert outcome.failed == []
    ((run_id, epoch),) = outcome.posted
    assert run_id == run.run_id
    with Session(engine) as session:
        statement = verified_statement(session, w3, rewards, epoch)
    assert statement.split_rule == SplitRule.LEAVE_ONE_OUT
    assert statement.leave_one_out is not None
    (alone,) = statement.leave_one_out.without
    assert alone.provider == ALICE
    assert statement.leave_one_out.utility_all > alone.utility_without
    assert statement.pairs() == [(ALICE, TEST_CONFIG.reward_per_epoch * TOKEN)]
    assert recompute(statement) == statement

    advance_time(w3, TEST_CONFIG.rewards_challenge_window + 1)
    token = bind(w3, "GovernanceToken", deployment.addresses.token).functions
    before = token.balanceOf(ALICE).call()
    with Session(engine) as session:
        inputs = claim_inputs(session, w3, rewards, epoch, ALICE)
        claim = sign_claim(deployment, statement, epoch, key=ALICE_KEY, account=ALICE)
        assert claim.proof == inputs.proof
        rpc = RpcBatch(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
        accept_claim(session, w3, rpc, claim, rewards=rewards)
    relayer_for(engine, w3, deployment).run_until_idle()
    assert token.balanceOf(ALICE).call() == before + TEST_CONFIG.reward_per_epoch * TOKEN


def test_a_model_trained_on_two_providers_datasets_pays_both(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
):
    w3, rewards = isolated_chain, deployment.addresses.rewards
    first = register_loans(engine, tmp_path, "loans-a")
    second = register_loans(engine, tmp_path, "loans-b", seed=1)
    actions = [
        signed_offer(w3, deployment, first, key=ALICE_KEY),
        signed_offer(w3, deployment, second, key=BOB_KEY),
        dp_threshold("0.1"),
        mitigate(),
        act.FundRewards(tokens=2_500),
        act.SetSplitRule(rule="leave_one_out"),
    ]
    govern(w3, deployment, actions, "two providers, LOO")
    env = audit_env(engine, w3, deployment, tmp_path)
    spec = ModelSpec(name="loans-two", datasets=("loans-a", "loans-b"), n_boot=50)
    assert run_audit(env, spec).verdict == "PASS"

    outcome = post_due_rewards(env)
    assert outcome.failed == []
    ((_, epoch),) = outcome.posted
    with Session(engine) as session:
        statement = verified_statement(session, w3, rewards, epoch)
    assert {(c.provider, c.rows) for c in statement.contributions} == {(ALICE, 4000), (BOB, 4000)}
    assert statement.leave_one_out is not None
    assert {u.provider for u in statement.leave_one_out.without} == {ALICE, BOB}
    assert statement.total == TEST_CONFIG.reward_per_epoch * TOKEN
    assert recompute(statement) == statement
