"""The rewards service over a real audit anchor and a dataset its provider offered on chain:
an approved run's root is posted once, a crash after the post is finished from the chain, and
an unfunded contract refuses the post before any gas."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.anchor import publish_audit
from audit.db_models import AuditRunRecord, RunStatus
from audit.report import Report
from audit.rewards.claims import verified_statement
from audit.rewards.db_models import StatementStatus
from audit.rewards.service import (
    build_for_run,
    due_runs,
    post_due_rewards,
    store_statement,
    stored_statement,
)
from bias_checks import Verdict
from core.db import session_scope
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.rewards import SplitRule, post_root
from tests.helpers import TEST_CONFIG, Governance, pass_and_execute_encoded
from tests.integration.audit.audit_support import AUDITOR_KEY, audit_env
from tests.integration.governance.rewards.rewards_support import ALICE, ALICE_KEY, TOKEN, fund

FIXTURE = (
    Path(__file__).parents[3] / "unit" / "audit" / "fixtures" / "training_pass" / "report.json"
)


def _b32() -> bytes:
    return secrets.token_bytes(32)


def offer_dataset(w3: Web3, deployment: deploy.Deployment, provider_key: str) -> str:
    """Allow a dataset by proposal with its provider's signed offer; its id."""
    policy = bind(w3, "TrainingPolicy", deployment.addresses.training_policy)
    now = int(w3.eth.get_block("latest")["timestamp"])
    dataset_id = _b32()
    offer = (
        dataset_id, _b32(), _b32(), _b32(), "file:loans.csv", "CC0-1.0", _b32(),
        Account.from_key(provider_key).address, now, now + 86_400,
    )  # fmt: skip
    digest = policy.functions.hashOffer(offer).call()
    signature = Account.unsafe_sign_hash(digest, provider_key).signature
    data = policy.encode_abi("allowDataset", args=[offer, bytes(signature)])
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    pass_and_execute_encoded(gov, [policy.address], [0], [data], f"allow {dataset_id.hex()}")
    return "0x" + dataset_id.hex()


def approved_run(
    engine: Engine, w3: Web3, deployment: deploy.Deployment, tmp_path: Path, dataset_id: str
) -> AuditRunRecord:
    """A completed training run whose PASS is anchored, over ``dataset_id`` (1,234 rows)."""
    data = json.loads(FIXTURE.read_bytes())
    run_id = "0x" + secrets.token_hex(32)
    data["run_id"] = run_id
    data["dataset"] |= {"dataset_id": dataset_id, "rows": 1_234}
    report = Report(data)
    directory = tmp_path / "reports" / run_id
    directory.mkdir(parents=True)
    (directory / "report.json").write_bytes(report.canonical_bytes())
    model_hash, policy = data["model"]["hash"], data["policy"]
    anchor = publish_audit(
        w3,
        deployment.addresses.audit_registry,
        AUDITOR_KEY,
        run_id=run_id,
        model_hash=model_hash,
        dataset_id=dataset_id,
        report_hash=report.hash,
        policy_version=policy["version"],
        passed=True,
    )
    row = AuditRunRecord(
        run_id=run_id,
        model_name="loans-lr",
        dataset_name="loans",
        dataset_id=dataset_id,
        status=RunStatus.COMPLETED,
        spec_json=json.dumps({"name": "loans-lr", "dataset": "loans"}),
        chain_id=deployment.chain_id,
        policy_version=policy["version"],
        policy_block=policy["block_number"],
        policy_snapshot_hash=policy["snapshot_hash"],
        model_hash=model_hash,
        report_hash=report.hash,
        verdict=Verdict.PASS,
        report_dir=str(directory),
        anchor_tx=anchor.tx_hash,
    )
    with session_scope(engine) as session:
        session.add(row)
    return row


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
